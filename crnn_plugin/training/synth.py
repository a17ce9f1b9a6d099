"""Synthetic word-image generator (MJSynth / SynthText style) for CRNN training.

:class:`SynthWordGenerator` is an "infinite", index-addressable source of ``(image, label)``
pairs: sample ``i`` is a pure function of ``(seed, i)``, so it is reproducible in any process
(e.g. in data-loader workers). Images are RGB, exactly ``SynthConfig.height`` pixels high,
with a width that follows the rendered word.
"""

from __future__ import annotations

import bisect
import colorsys
import functools
import io
import math
import operator
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .fonts import FontInfo, find_fonts

__all__ = ["SynthConfig", "SynthWordGenerator", "preview"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TLDS = ("com", "org", "net", "io", "de", "uk", "info", "edu", "gov", "co")
_UNITS = (
    "kg",
    "g",
    "mg",
    "km",
    "m",
    "cm",
    "mm",
    "ml",
    "L",
    "GB",
    "MB",
    "TB",
    "Hz",
    "kHz",
    "V",
    "W",
    "kW",
    "mph",
    "oz",
    "lb",
    "ft",
    "in",
    "x",
    "px",
    "pcs",
    "min",
    "h",
    "s",
)
_WRAPS = ("()", "[]", "{}", "<>", '""', "''", "**", "__")
_SUFFIXES = (",", ".", "!", "?", ":", ";", "...", "!!", "?!", "'s", "'", "*", "%", "+", "-")
_PREFIXES = ("#", "@", "$", "*", "+", "-", "~", "&", "/", "'", '"')
_JOINERS = ("-", "/", "&", "_", ".", "+", "'", ":", "=", "|", "\\")

_WHITE = np.array([1.0, 1.0, 1.0], np.float32)
_BLACK = np.array([0.0, 0.0, 0.0], np.float32)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass
class SynthConfig:
    """Knobs of :class:`SynthWordGenerator` (probabilities are per sample)."""

    height: int = 32  # output height; the width follows the rendered text
    max_len: int = 25  # maximum label length
    min_width_factor: float = 0.5  # width >= height * this
    max_width_factor: float = 25.0  # width <= height * this

    # Word sources (relative weights).
    w_english: float = 0.55  # wordfreq English (or the ``words`` override)
    w_random: float = 0.10  # random alphanumeric strings
    w_number: float = 0.11  # numbers, prices, percentages, units, ordinals
    w_datetime: float = 0.06  # dates and times
    w_code: float = 0.08  # codes, phone numbers, e-mails, URLs, file names
    w_punct: float = 0.10  # words with attached punctuation, compounds, acronyms
    english_top_n: int = 50000
    p_line: float = 0.25  # multi-word lines with single spaces (only when the vocab has a space)
    line_words: tuple[int, int] = (2, 8)
    max_line_len: int = 60
    zipf_fraction: float = 0.4  # share of words drawn log-uniformly by rank (rest: uniform)

    # Case variants (rest: as-is).
    p_upper: float = 0.22
    p_title: float = 0.22
    p_mixed_case: float = 0.03

    # Fonts.
    max_families_per_source: int = 24  # caps the weight of a font directory (e.g. decorative)
    font_size: tuple[int, int] = (32, 72)  # render size in pixels before the final resize

    # Layout.
    p_char_spacing: float = 0.15
    char_spacing: tuple[float, float] = (-0.03, 0.35)  # in font-size units
    p_curve: float = 0.06
    p_neighbors: float = 0.12  # partial text lines above / below

    # Colours and compositing.
    p_light_on_dark: float = 0.35
    min_contrast: float = 0.35  # minimal luminance difference text / background
    p_outline: float = 0.10
    p_hollow: float = 0.15  # of outlined text: outline only, no fill
    p_shadow: float = 0.10
    p_alpha: float = 0.20  # text blended with alpha < 1
    p_multiply: float = 0.05  # dark text multiplied into the background texture
    p_fill_gradient: float = 0.08
    p_lighting: float = 0.15  # smooth illumination change over the whole image

    # Backgrounds (relative weights).
    bg_flat: float = 0.25
    bg_gradient: float = 0.15
    bg_noise: float = 0.10
    bg_smooth_noise: float = 0.18
    bg_stripes: float = 0.07
    bg_grain: float = 0.12
    bg_clutter: float = 0.13

    # Geometry.
    p_rotate: float = 0.35
    max_rotate_deg: float = 4.0
    p_shear: float = 0.15
    max_shear: float = 0.25
    p_perspective: float = 0.30
    max_perspective: float = 0.12  # corner jitter in units of the text height

    # Crop margins, in units of the text height.
    margin_x: tuple[float, float] = (0.0, 0.4)
    margin_y: tuple[float, float] = (0.0, 0.35)
    p_cut: float = 0.08  # cut up to ~2 px of glyphs at the top / bottom

    # Degradations (applied at the output resolution).
    p_blur: float = 0.25
    blur_radius: tuple[float, float] = (0.3, 1.1)
    p_motion_blur: float = 0.05
    p_lowres: float = 0.15
    lowres_scale: tuple[float, float] = (0.4, 0.8)
    p_noise: float = 0.35
    noise_std: tuple[float, float] = (2.0, 12.0)  # in 0..255 units
    p_jpeg: float = 0.30
    jpeg_quality: tuple[int, int] = (15, 90)


@functools.lru_cache(maxsize=256)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


@functools.lru_cache(maxsize=4)
def _english_words(top_n: int) -> tuple[str, ...]:
    from wordfreq import top_n_list

    return tuple(top_n_list("en", top_n))


def _lum(c: np.ndarray) -> float:
    return float(c @ _LUMA)


def _choice_weighted(r: random.Random, cum: Sequence[float]) -> int:
    return min(bisect.bisect_right(cum, r.random() * cum[-1]), len(cum) - 1)


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += max(0.0, float(w))
        out.append(acc)
    if acc <= 0:
        raise ValueError("all weights are zero")
    return out


class SynthWordGenerator:
    """Index-addressable synthetic word images: ``gen[i] -> (RGB image, label)``.

    Args:
        vocab: characters allowed in labels (a label only uses these characters).
        seed: base seed; sample ``i`` depends only on ``(seed, i)``.
        fonts: fonts to render with (default: :func:`find_fonts`).
        config: rendering / sampling options.
        words: word list replacing the wordfreq English list (most frequent first).
    """

    def __init__(
        self,
        vocab: str,
        *,
        seed: int = 0,
        fonts: Sequence[FontInfo] | None = None,
        config: SynthConfig | None = None,
        words: Sequence[str] | None = None,
    ) -> None:
        self.vocab = vocab
        self.seed = int(seed)
        self.config = config if config is not None else SynthConfig()
        self.fonts = list(find_fonts() if fonts is None else fonts)
        if not self.fonts:
            raise RuntimeError("no usable fonts found; install some (scripts/install_training_deps.sh)")
        printable = (set(string.printable) - set(string.whitespace)) | {" "}
        self._allowed = frozenset(c for c in vocab if c in printable)
        self._lines = " " in self._allowed
        if not self._allowed:
            raise ValueError("vocab has no printable ASCII character to render")
        self._allowed_sorted = "".join(sorted(self._allowed))
        self._font_cum = _cumulative(self._font_weights())
        # characters each font renders faithfully (caps-like lowercase letters excluded)
        self._cover = [f.charset - getattr(f, "ambiguous", frozenset()) for f in self.fonts]
        cfg = self.config
        self._source_cum = _cumulative(
            [cfg.w_english, cfg.w_random, cfg.w_number, cfg.w_datetime, cfg.w_code, cfg.w_punct]
        )
        self._sources: list[Callable[[random.Random], str]] = [
            self._src_english,
            self._src_random,
            self._src_number,
            self._src_datetime,
            self._src_code,
            self._src_punct,
        ]
        self._bg_cum = _cumulative(
            [
                cfg.bg_flat,
                cfg.bg_gradient,
                cfg.bg_noise,
                cfg.bg_smooth_noise,
                cfg.bg_stripes,
                cfg.bg_grain,
                cfg.bg_clutter,
            ]
        )
        if words is not None:
            tokens = [t for w in words for t in str(w).split()]
        else:
            tokens = list(_english_words(cfg.english_top_n))
        self._words = [w for w in tokens if 0 < len(w) <= cfg.max_len and w.isascii()]
        if not self._words:
            self._words = ["word"]

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        index = operator.index(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = np.random.default_rng([self.seed & 0xFFFFFFFFFFFF, index])
        r = random.Random(int(rng.integers(1 << 62)))
        text = self._sample_text(r)
        finfo, text = self._pick_font(r, text)
        return self._render(r, rng, text, finfo), text

    # ------------------------------------------------------------------ fonts

    def _font_weights(self) -> list[float]:
        """Balance sampling: families weigh the same; a directory weighs <= N families."""
        fam_size: dict[tuple[str, str], int] = {}
        src_fams: dict[str, set[str]] = {}
        for f in self.fonts:
            src, fam = str(f.path.parent), f.family or f.path.stem
            fam_size[src, fam] = fam_size.get((src, fam), 0) + 1
            src_fams.setdefault(src, set()).add(fam)
        cap = max(1, self.config.max_families_per_source)
        weights = []
        for f in self.fonts:
            src, fam = str(f.path.parent), f.family or f.path.stem
            n_fam = len(src_fams[src])
            weights.append(min(n_fam, cap) / n_fam / fam_size[src, fam])
        return weights

    def _pick_font(self, r: random.Random, text: str) -> tuple[FontInfo, str]:
        """Choose a font covering ``text``; drop uncovered chars if none does."""
        need = set(text)
        first = _choice_weighted(r, self._font_cum)
        if need <= self._cover[first]:
            return self.fonts[first], text
        for _ in range(6):
            i = _choice_weighted(r, self._font_cum)
            if need <= self._cover[i]:
                return self.fonts[i], text
        covering = [i for i, cov in enumerate(self._cover) if need <= cov]
        if covering:
            return self.fonts[covering[r.randrange(len(covering))]], text
        kept = "".join(c for c in text if c in self._cover[first])
        if kept:
            return self.fonts[first], kept
        # no font renders any char of the text: use any (font, vocab char) pair
        pairs = [
            (i, c)
            for c in self._allowed_sorted.replace(" ", "")
            for i, cov in enumerate(self._cover)
            if c in cov
        ]
        if not pairs:
            raise RuntimeError("no font can render any character of the vocab")
        i, c = pairs[r.randrange(len(pairs))]
        return self.fonts[i], c

    # ------------------------------------------------------------------ text

    def _sample_text(self, r: random.Random) -> str:
        if self._lines and r.random() < self.config.p_line:
            return self._sample_line(r)
        return self._sample_word(r)

    def _sample_line(self, r: random.Random) -> str:
        """2-8 words, numbers, codes... joined by single spaces (the label of a text line)."""
        cfg = self.config
        n = r.randint(*cfg.line_words)
        words: list[str] = []
        for _ in range(n):
            w = self._sample_word(r)
            if len(" ".join([*words, w])) > cfg.max_line_len:
                break
            words.append(w)
        return " ".join(words) if words else self._sample_word(r)

    def _sample_word(self, r: random.Random) -> str:
        cfg = self.config
        for attempt in range(10):
            src = self._sources[_choice_weighted(r, self._source_cum)]
            text = self._fit_vocab("".join(src(r).split()))
            if len(text) > cfg.max_len:
                if attempt < 5:
                    continue  # prefer a new sample over a truncated one
                start = r.randrange(len(text) - cfg.max_len + 1)
                text = text[start : start + cfg.max_len]
            if text:
                return text
        n = r.randint(1, min(8, cfg.max_len))
        return "".join(r.choice(self._allowed_sorted.replace(" ", "")) for _ in range(n))

    def _fit_vocab(self, text: str) -> str:
        """Map ``text`` into the vocab: try other cases, then drop unsupported chars."""
        allowed = self._allowed
        if all(c in allowed for c in text):
            return text
        for alt in (text.lower(), text.upper()):
            if all(c in allowed for c in alt):
                return alt
        out = []
        for c in text:
            if c in allowed:
                out.append(c)
            elif c.swapcase() in allowed:
                out.append(c.swapcase())
        return "".join(out)

    def _word(self, r: random.Random) -> str:
        n = len(self._words)
        if r.random() < self.config.zipf_fraction:
            rank = int(math.exp(r.random() * math.log(n + 1)))  # 1..n, P(rank) ~ 1/rank
        else:
            rank = r.randrange(n)
        return self._words[min(max(rank - 1, 0), n - 1)]

    def _alnum_word(self, r: random.Random) -> str:
        w = "".join(c for c in self._word(r).lower() if c.isalnum())
        return w or "info"

    def _case(self, r: random.Random, w: str) -> str:
        cfg = self.config
        u = r.random()
        if u < cfg.p_upper:
            return w.upper()
        u -= cfg.p_upper
        if u < cfg.p_title:
            return w[:1].upper() + w[1:]
        u -= cfg.p_title
        if u < cfg.p_mixed_case:
            return "".join(c.upper() if r.random() < 0.5 else c.lower() for c in w)
        return w

    def _src_english(self, r: random.Random) -> str:
        return self._case(r, self._word(r))

    def _src_random(self, r: random.Random) -> str:
        u = r.random()
        if u < 0.2:
            pool = string.digits
        elif u < 0.4:
            pool = string.ascii_uppercase
        elif u < 0.5:
            pool = string.ascii_lowercase
        elif u < 0.6:
            pool = string.ascii_uppercase + string.digits
        elif u < 0.65:
            pool = "0123456789ABCDEF"
        elif u < 0.9:
            pool = string.ascii_letters + string.digits
        else:
            pool = self._allowed_sorted  # includes punctuation
        n = min(self.config.max_len, 1 + int(r.expovariate(1 / 4.0)))
        return "".join(r.choice(pool) for _ in range(n))

    def _number_str(self, r: random.Random, max_exp: float = 6.0, commas: bool = True) -> str:
        n = int(10 ** r.uniform(0, max_exp))
        if commas and n >= 1000 and r.random() < 0.4:
            return f"{n:,}"
        return str(n)

    def _src_number(self, r: random.Random) -> str:
        u = r.random()
        if u < 0.25:
            s = self._number_str(r)
            return ("-" + s) if r.random() < 0.08 else s
        if u < 0.4:
            return f"{10 ** r.uniform(-1, 4):.{r.randint(1, 3)}f}"
        if u < 0.6:
            if r.random() < 0.6:
                amount = f"{int(10 ** r.uniform(0, 4))}.{r.randint(0, 99):02d}"
            else:
                amount = self._number_str(r, 5)
            return ("$" + amount) if r.random() < 0.85 else (amount + "$")
        if u < 0.72:
            v = f"{r.uniform(0, 100):.1f}" if r.random() < 0.3 else str(r.randint(0, 100))
            return (r.choice("+-") if r.random() < 0.15 else "") + v + "%"
        if u < 0.8:
            n = r.randint(1, 999)
            suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
            return f"{n}{suffix}"
        if u < 0.93:
            v = str(r.randint(1, 999)) if r.random() < 0.7 else f"{r.uniform(0, 100):.1f}"
            return v + self._case(r, r.choice(_UNITS)) if r.random() < 0.2 else v + r.choice(_UNITS)
        if u < 0.97:
            return f"{r.randint(1, 9)}/{r.randint(2, 16)}"
        a = r.randint(0, 500)
        return f"{a}-{a + r.randint(1, 500)}"

    def _src_datetime(self, r: random.Random) -> str:
        y, m, d = r.randint(1950, 2035), r.randint(1, 12), r.randint(1, 28)
        hh, mm, ss = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
        mon = _MONTHS[m - 1]
        mon = mon.upper() if r.random() < 0.4 else mon
        forms = [
            f"{d:02d}/{m:02d}/{y}",
            f"{m}/{d}/{y % 100:02d}",
            f"{y}-{m:02d}-{d:02d}",
            f"{d:02d}.{m:02d}.{y}",
            f"{d:02d}.{m:02d}.{y % 100:02d}",
            f"{d}-{mon}-{y}",
            f"{d}{mon}{y}",
            f"{mon}{d},",
            f"{mon}-{y % 100:02d}",
            f"{hh:02d}:{mm:02d}",
            f"{hh}:{mm:02d}",
            f"{(hh % 12) or 12}:{mm:02d}{r.choice(['am', 'pm', 'AM', 'PM'])}",
            f"{(hh % 12) or 12}{r.choice(['am', 'pm', 'AM', 'PM'])}",
            f"{hh:02d}:{mm:02d}:{ss:02d}",
            f"{hh}h{mm:02d}",
            r.choice(_DAYS).upper() if r.random() < 0.5 else r.choice(_DAYS),
            f"{y}",
            f"'{y % 100:02d}",
        ]
        return r.choice(forms)

    def _src_code(self, r: random.Random) -> str:
        up, dg = string.ascii_uppercase, string.digits

        def s(pool: str, lo: int, hi: int) -> str:
            return "".join(r.choice(pool) for _ in range(r.randint(lo, hi)))

        u = r.random()
        if u < 0.25:  # part / plate / ticket codes
            forms = [
                f"{s(up, 1, 2)}{s(dg, 1, 2)}-{s(up, 1, 2)}{s(dg, 1, 3)}",
                f"{s(up, 2, 3)}-{s(dg, 3, 4)}",
                f"{s(up, 1, 3)}{s(dg, 2, 5)}",
                f"#{s(dg, 1, 5)}",
                f"No.{s(dg, 1, 3)}",
                f"{r.choice(['ID', 'SN', 'REF', 'SKU', 'Ref'])}:{s(up + dg, 4, 8)}",
                f"v{r.randint(0, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
                f"{s(up, 1, 2)}-{s(dg, 2, 3)}",
                f"{s(dg, 3, 5)}/{s(dg, 2, 4)}",
            ]
            return r.choice(forms)
        if u < 0.5:  # phone numbers
            a, b, c = s(dg, 3, 3), s(dg, 3, 3), s(dg, 4, 4)
            forms = [
                f"{a}-{b}-{c}",
                f"({a}){b}-{c}",
                f"+{r.randint(1, 99)}-{a}-{b}-{c}",
                f"{a}.{b}.{c}",
                f"{b}-{c}",
                f"+{r.randint(1, 99)}{a}{b}{c}",
                f"{a}{b}{c}",
            ]
            return r.choice(forms)
        w1, w2 = self._alnum_word(r), self._alnum_word(r)
        if u < 0.65:  # e-mail
            sep = r.choice([".", "_", "", "-"])
            return f"{w1}{sep}{s(dg, 0, 2)}@{w2}.{r.choice(_TLDS)}"
        if u < 0.8:  # url
            pre = r.choice(["www.", "", "http://", "https://", "www."])
            path = f"/{self._alnum_word(r)}" if r.random() < 0.3 else ""
            return f"{pre}{w1}{w2 if r.random() < 0.3 else ''}.{r.choice(_TLDS)}{path}"
        if u < 0.9:  # file names
            ext = r.choice(["jpg", "JPG", "pdf", "txt", "png", "docx", "zip", "mp3", "csv"])
            stem = r.choice([f"IMG_{s(dg, 4, 4)}", w1, f"{w1}_{s(dg, 1, 3)}", f"{w1}-{w2}"])
            return f"{stem}.{ext}"
        if u < 0.95:
            return r.choice(["#", "@"]) + self._case(r, w1)
        return s(up + dg, 2, 4) + r.choice("-/") + s(up + dg, 2, 4)

    def _src_punct(self, r: random.Random) -> str:
        w = self._case(r, self._word(r))
        u = r.random()
        if u < 0.3:
            return w + r.choice(_SUFFIXES)
        if u < 0.4:  # any punctuation char attached (covers the rare ones)
            p = r.choice(string.punctuation)
            return w + p if r.random() < 0.6 else p + w
        if u < 0.5:
            pair = r.choice(_WRAPS)
            return pair[0] + w + pair[1] + (r.choice(",.;:") if r.random() < 0.2 else "")
        if u < 0.58:
            return r.choice(_PREFIXES) + w
        if u < 0.72:
            return w + r.choice(_JOINERS) + self._case(r, self._word(r))
        if u < 0.8:  # acronyms like U.S.A.
            n = r.randint(2, 4)
            letters = [r.choice(string.ascii_uppercase) for _ in range(n)]
            return ".".join(letters) + ("." if r.random() < 0.7 else "")
        if u < 0.87:  # contractions
            return w + r.choice(["'s", "n't", "'ll", "'re", "'ve", "'d", "'m"])
        pool = string.punctuation
        return "".join(r.choice(pool) for _ in range(r.randint(1, 3)))

    # ------------------------------------------------------------------ rendering

    def _render(self, r: random.Random, rng: np.random.Generator, text: str, finfo: FontInfo) -> Image.Image:
        cfg = self.config
        size = r.randint(*cfg.font_size)
        font = _load_font(str(finfo.path), size)
        stroke = max(1, round(size * r.uniform(0.03, 0.08))) if r.random() < cfg.p_outline else 0
        hollow = bool(stroke) and r.random() < cfg.p_hollow
        if hollow:
            stroke = max(stroke, 2, round(size * 0.05))  # thick enough to survive the resize

        # --- layout (origin at the baseline start, y down)
        spaced = len(text) > 1 and r.random() < cfg.p_char_spacing
        if spaced:
            gap = size * r.uniform(*cfg.char_spacing)
            xs, x = [], 0.0
            for ch in text:
                xs.append(x)
                # a word gap must stay wider than the letter gaps it sits between
                x += (font.getlength(ch) + gap) * (2.0 if ch == " " else 1.0)
            boxes = [font.getbbox(ch, anchor="ls", stroke_width=stroke) for ch in text]
            ix0 = min(b[0] + xo for b, xo in zip(boxes, xs, strict=True))
            ix1 = max(b[2] + xo for b, xo in zip(boxes, xs, strict=True))
            iy0 = min(b[1] for b in boxes)
            iy1 = max(b[3] for b in boxes)
        else:
            ix0, iy0, ix1, iy1 = font.getbbox(text, anchor="ls", stroke_width=stroke)
        ascent, descent = font.getmetrics()
        cap_top = font.getbbox("H", anchor="ls")[1] if "H" in finfo.charset else -ascent * 0.7
        desc = font.getbbox("g", anchor="ls")[3] if "g" in finfo.charset else descent * 0.8
        ref_top = min(iy0, cap_top - stroke)
        ref_bot = max(iy1, (desc if r.random() < 0.5 else 0) + stroke)
        box_h = ref_bot - ref_top
        amp = box_h * r.uniform(0.1, 0.3) if r.random() < cfg.p_curve else 0.0

        pad = int(0.8 * box_h) + stroke + 4
        pad_y = pad + int(math.ceil(amp))
        canvas_w = int(math.ceil(ix1 - ix0)) + 2 * pad
        canvas_h = int(math.ceil(box_h)) + 2 * pad_y
        ox, oy = pad - ix0, pad_y - ref_top  # canvas position of the baseline origin

        fill = Image.new("L", (canvas_w, canvas_h), 0)
        dfill = ImageDraw.Draw(fill)
        outline = Image.new("L", (canvas_w, canvas_h), 0) if stroke else None
        dout = ImageDraw.Draw(outline) if outline is not None else None
        if spaced:
            for c, xo in zip(text, xs, strict=True):
                dfill.text((ox + xo, oy), c, font=font, fill=255, anchor="ls")
                if dout is not None:
                    dout.text(
                        (ox + xo, oy),
                        c,
                        font=font,
                        fill=255,
                        anchor="ls",
                        stroke_width=stroke,
                        stroke_fill=255,
                    )
        else:
            dfill.text((ox, oy), text, font=font, fill=255, anchor="ls")
            if dout is not None:
                dout.text(
                    (ox, oy),
                    text,
                    font=font,
                    fill=255,
                    anchor="ls",
                    stroke_width=stroke,
                    stroke_fill=255,
                )

        gaps: tuple[float | None, float | None] = (None, None)
        if r.random() < cfg.p_neighbors:
            draws = [(dfill, 0)] + ([(dout, stroke)] if dout is not None else [])
            gaps = self._draw_neighbors(r, font, finfo, draws, ox, oy, ref_top, ref_bot, canvas_w)

        # text box in canvas coordinates
        bx0, bx1 = ox + ix0 - 1, ox + ix1 + 1
        by0, by1 = oy + ref_top, oy + ref_bot
        if amp:
            fill, outline, dmin, dmax = _curve(r, fill, outline, amp)
            by0, by1 = by0 + dmin, by1 + dmax

        # --- geometry: shear, rotation, perspective as one homography
        src = np.array([[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]], np.float64)
        dst = src.copy()
        geo = False
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        if r.random() < cfg.p_shear:
            k = r.uniform(-cfg.max_shear, cfg.max_shear)
            dst[:, 0] -= k * (dst[:, 1] - cy)
            geo = True
        if r.random() < cfg.p_rotate:
            t = math.radians(r.uniform(-cfg.max_rotate_deg, cfg.max_rotate_deg))
            rx, ry = dst[:, 0] - cx, dst[:, 1] - cy
            cos_t, sin_t = math.cos(t), math.sin(t)
            dst = np.stack([cx + rx * cos_t - ry * sin_t, cy + rx * sin_t + ry * cos_t], 1)
            geo = True
        if r.random() < cfg.p_perspective:
            dst += rng.uniform(-1, 1, (4, 2)) * cfg.max_perspective * box_h
            geo = True

        # --- crop margins around the (transformed) text box
        mx0 = cfg.margin_x[0] + (cfg.margin_x[1] - cfg.margin_x[0]) * r.random() ** 2
        mx1 = cfg.margin_x[0] + (cfg.margin_x[1] - cfg.margin_x[0]) * r.random() ** 2
        my0 = cfg.margin_y[0] + (cfg.margin_y[1] - cfg.margin_y[0]) * r.random() ** 1.5
        my1 = cfg.margin_y[0] + (cfg.margin_y[1] - cfg.margin_y[0]) * r.random() ** 1.5
        # show only the edge (a few pixels) of neighbouring lines
        if gaps[0] is not None:
            my0 = gaps[0] + r.uniform(0.05, 0.25)
        if gaps[1] is not None:
            my1 = gaps[1] + r.uniform(0.05, 0.25)
        scale = box_h / cfg.height  # render pixels per output pixel (roughly)
        if r.random() < cfg.p_cut:
            if r.random() < 0.5:
                my0 = -r.uniform(0.5, 2.0) * scale / box_h
            else:
                my1 = -r.uniform(0.5, 2.0) * scale / box_h
        dx0, dy0 = dst.min(0)
        dx1, dy1 = dst.max(0)
        c0x = math.floor(dx0 - mx0 * box_h)
        c0y = math.floor(dy0 - my0 * box_h)
        c1x = math.ceil(dx1 + mx1 * box_h)
        c1y = math.ceil(dy1 + my1 * box_h)
        crop_w, crop_h = max(1, c1x - c0x), max(1, c1y - c0y)

        if geo:
            hom = _homography(src, dst)
            inv = np.linalg.inv(hom) @ np.array([[1, 0, c0x], [0, 1, c0y], [0, 0, 1]], float)
            inv /= inv[2, 2]
            coeffs = tuple(float(v) for v in inv.ravel()[:8])

            def warp(im: Image.Image) -> Image.Image:
                return im.transform(
                    (crop_w, crop_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
                )
        else:

            def warp(im: Image.Image) -> Image.Image:
                return im.crop((c0x, c0y, c1x, c1y))

        out_h = cfg.height
        out_w = round(crop_w * out_h / crop_h)
        out_w = int(min(max(out_w, int(out_h * cfg.min_width_factor), 1), int(out_h * cfg.max_width_factor)))
        size_out = (out_w, out_h)
        a_fill = np.asarray(warp(fill).resize(size_out, Image.Resampling.BILINEAR), np.float32) / 255.0
        a_out = None
        if outline is not None:
            a_out = np.asarray(warp(outline).resize(size_out, Image.Resampling.BILINEAR), np.float32) / 255.0
        # Hairline fonts lose intensity when downscaled: restore full-strength strokes.
        ink = (a_fill if a_out is None else a_out).ravel()
        ink = ink[ink > 0.1]
        peak = float(np.percentile(ink, 90)) if ink.size else 1.0
        if peak < 0.85:
            gain = 1.0 / max(peak, 0.2)
            a_fill = np.minimum(a_fill * gain, 1.0)
            if a_out is not None:
                a_out = np.minimum(a_out * gain, 1.0)
        return self._compose(r, rng, a_fill, a_out, hollow)

    def _draw_neighbors(
        self,
        r: random.Random,
        font: ImageFont.FreeTypeFont,
        finfo: FontInfo,
        draws: list[tuple[ImageDraw.ImageDraw, int]],
        ox: float,
        oy: float,
        ref_top: float,
        ref_bot: float,
        cw: int,
    ) -> tuple[float | None, float | None]:
        """Draw other words on lines above / below; return their gaps (in text heights)."""
        box_h = ref_bot - ref_top
        sides = r.choice([(True, False), (False, True), (True, True)])
        gaps: list[float | None] = [None, None]
        for above, on in zip((True, False), sides, strict=True):
            if not on:
                continue
            words = []
            for _ in range(6):
                w = "".join(c for c in self._case(r, self._word(r)) if c in finfo.charset)
                if w:
                    words.append(w)
            line = " ".join(words)
            g = box_h * r.uniform(0.05, 0.3)
            gaps[0 if above else 1] = g / box_h
            # baseline of the line above / cap top of the line below roughly g from the box
            y = oy + ref_top - g if above else oy + ref_bot + g + box_h * 0.75
            x = r.uniform(-0.5, 0.3) * cw
            for d, stroke in draws:
                d.text(
                    (x, y),
                    line,
                    font=font,
                    fill=255,
                    anchor="ls",
                    stroke_width=stroke,
                    stroke_fill=255,
                )
        return gaps[0], gaps[1]

    # ------------------------------------------------------------------ colour

    def _colors(self, r: random.Random) -> tuple[np.ndarray, np.ndarray, float]:
        """Return (foreground, background, luminance difference) with enough contrast."""
        cfg = self.config
        light_text = r.random() < cfg.p_light_on_dark
        for _ in range(24):
            a, b = _random_color(r), _random_color(r)
            la, lb = _lum(a), _lum(b)
            fg, bg = (a, b) if (la > lb) == light_text else (b, a)
            diff = abs(la - lb)
            if diff >= cfg.min_contrast:
                return fg, bg, diff
        return (_WHITE, _BLACK, 1.0) if light_text else (_BLACK, _WHITE, 1.0)

    def _compose(
        self,
        r: random.Random,
        rng: np.random.Generator,
        a_fill: np.ndarray,
        a_out: np.ndarray | None,
        hollow: bool,
    ) -> Image.Image:
        cfg = self.config
        h, w = a_fill.shape
        fg, bg, diff = self._colors(r)
        slack = max(0.05, diff - 0.8 * cfg.min_contrast)  # background may vary this much
        img = self._background(r, rng, h, w, bg, slack)

        alpha = 1.0
        if r.random() < cfg.p_alpha:
            alpha = max(r.uniform(0.55, 0.95), min(1.0, cfg.min_contrast / diff + 0.1))
        text_mask = a_out if a_out is not None else a_fill

        if r.random() < cfg.p_shadow:
            dx, dy = r.randint(-3, 3), r.randint(-3, 3)
            if dx == 0 and dy == 0:
                dx = 1
            sh = Image.fromarray((text_mask * 255).astype(np.uint8), "L")
            sh_img = Image.new("L", sh.size, 0)
            sh_img.paste(sh, (dx, dy))
            blur = r.uniform(0.0, 1.5)
            if blur > 0.3:
                sh_img = sh_img.filter(ImageFilter.GaussianBlur(blur))
            s = np.asarray(sh_img, np.float32)[..., None] * (r.uniform(0.4, 0.9) / 255.0)
            shadow_color = fg * 0.25 if _lum(bg) > 0.35 else _random_color(r) * 0.3
            img = img * (1 - s) + shadow_color * s

        if a_out is not None and hollow:
            # outline only: the ring around the glyphs, in the text colour
            m = np.clip(a_out - a_fill, 0.0, 1.0)[..., None] * alpha
            img = img * (1 - m) + fg * m
        elif a_out is not None:
            stroke_color = _random_color(r)
            for _ in range(10):
                if abs(_lum(stroke_color) - _lum(fg)) >= 0.3:
                    break
                stroke_color = _random_color(r)
            else:
                stroke_color = _BLACK if _lum(fg) > 0.5 else _WHITE
            m = a_out[..., None] * alpha
            img = img * (1 - m) + stroke_color * m

        if not hollow:
            fgc: np.ndarray = fg
            if r.random() < cfg.p_fill_gradient:
                fg2 = np.clip(fg + np.array([r.uniform(-0.25, 0.25) for _ in range(3)]), 0, 1)
                if abs(_lum(fg2) - _lum(bg)) >= cfg.min_contrast * 0.8:
                    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
                    if r.random() < 0.5:
                        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
                    fgc = fg * (1 - t) + fg2 * t
            m = a_fill[..., None] * alpha
            if r.random() < cfg.p_multiply and _lum(fg) < _lum(bg):
                img = img * (1 - m) + (img * fgc) * m
            else:
                img = img * (1 - m) + fgc * m

        if r.random() < cfg.p_lighting:
            field = _smooth_field(rng, h, w, r.randint(1, 3))
            img = img * (1 - r.uniform(0.1, 0.35) * (field[..., None] + 1) / 2)

        out = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")
        return self._degrade(r, rng, out)

    def _background(
        self,
        r: random.Random,
        rng: np.random.Generator,
        h: int,
        w: int,
        base: np.ndarray,
        slack: float,
    ) -> np.ndarray:
        """Background image (h, w, 3) float32 in [0, 1] varying around ``base``."""
        kind = _choice_weighted(r, self._bg_cum)
        amp = slack * r.uniform(0.3, 1.0)
        tint = np.array([1 + r.uniform(-0.4, 0.4) for _ in range(3)], np.float32)
        tint /= max(_lum(tint), 1e-3)
        base = base.astype(np.float32)
        if kind == 0:  # flat
            return np.broadcast_to(base, (h, w, 3)).astype(np.float32)
        if kind == 6:  # image-like clutter: blurred shapes / lines
            return _clutter(r, h, w, base, amp)
        if kind == 1:  # linear gradient
            t = math.radians(r.uniform(0, 360))
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            f = xx * math.cos(t) + yy * math.sin(t)
            f -= f.min()
            f = f / max(float(f.max()), 1e-6) * 2 - 1
        elif kind == 2:  # pixel noise (plus a little smooth noise)
            f = rng.uniform(-1, 1, (h, w)).astype(np.float32) * 0.6
            f += _smooth_field(rng, h, w, r.randint(2, 8)) * 0.4
            amp *= 0.6
        elif kind == 3:  # Perlin-like smooth noise, 1-2 octaves
            f = _smooth_field(rng, h, w, r.randint(2, 6))
            if r.random() < 0.5:
                f = f * 0.65 + _smooth_field(rng, h, w, r.randint(6, 16)) * 0.35
        elif kind == 4:  # stripes
            t = math.radians(r.uniform(0, 180))
            lam = r.uniform(3, 24)
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            f = np.sin(
                (xx * math.cos(t) + yy * math.sin(t)) * (2 * math.pi / lam) + r.uniform(0, 6.3)
            ).astype(np.float32)
            if r.random() < 0.4:
                f = np.sign(f)
            amp *= 0.5
        else:  # paper-like grain
            f = _smooth_field(rng, h, w, r.randint(2, 5)) * 0.5
            f += rng.standard_normal((h, w)).astype(np.float32) * 0.2
            f[rng.random((h, w)) > 0.985] -= 0.8
            f = np.clip(f, -1, 1)
        return np.clip(base + f[..., None] * (amp * tint), 0, 1)

    def _degrade(self, r: random.Random, rng: np.random.Generator, im: Image.Image) -> Image.Image:
        cfg = self.config
        if r.random() < cfg.p_blur:
            im = im.filter(ImageFilter.GaussianBlur(r.uniform(*cfg.blur_radius)))
        if r.random() < cfg.p_motion_blur:
            n = r.choice([3, 5])
            k = [0.0] * (n * n)
            kind = r.randrange(3)
            for i in range(n):
                j = {0: (n // 2) * n + i, 1: i * n + i, 2: i * n + (n - 1 - i)}[kind]
                k[j] = 1.0
            im = im.filter(ImageFilter.Kernel((n, n), k, scale=n))
        if r.random() < cfg.p_lowres:
            s = r.uniform(*cfg.lowres_scale)
            small = (max(1, round(im.width * s)), max(1, round(im.height * s)))
            down = r.choice([Image.Resampling.BILINEAR, Image.Resampling.BOX])
            up = r.choice([Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.NEAREST])
            im = im.resize(small, down).resize(im.size, up)
        if r.random() < cfg.p_noise:
            arr = np.asarray(im, np.float32)
            std = r.uniform(*cfg.noise_std)
            ch = 1 if r.random() < 0.5 else 3
            arr = arr + rng.standard_normal((im.height, im.width, ch), np.float32) * std
            im = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")
        if r.random() < cfg.p_jpeg:
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=r.randint(*cfg.jpeg_quality))
            buf.seek(0)
            im = Image.open(buf).convert("RGB")
        return im


def _random_color(r: random.Random) -> np.ndarray:
    """Random RGB colour, biased towards neutral and strongly dark / light tones."""
    hue = r.random()
    sat = r.random() ** 1.5 if r.random() < 0.6 else r.random() * 0.15
    u = r.random()
    val = r.random() if u < 0.6 else (r.uniform(0.0, 0.25) if u < 0.8 else r.uniform(0.85, 1.0))
    return np.array(colorsys.hsv_to_rgb(hue, sat, val), np.float32)


def _smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smoothed random field in about [-1, 1] with ~``cells`` features across the height."""
    gh = max(2, cells)
    gw = max(2, round(cells * w / max(h, 1)))
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    f = np.asarray(Image.fromarray(g, "F").resize((w, h), Image.Resampling.BICUBIC))
    m = float(np.abs(f).max())
    return f / m if m > 0 else f


def _clutter(r: random.Random, h: int, w: int, base: np.ndarray, amp: float) -> np.ndarray:
    """Image-like background: random blurred shapes and lines around ``base``."""
    img = Image.new("RGB", (w, h), tuple(int(v * 255) for v in base))
    d = ImageDraw.Draw(img)
    for _ in range(r.randint(3, 10) + w // 40):
        col = np.clip(base + np.array([r.uniform(-amp, amp) for _ in range(3)]), 0, 1)
        colt = tuple(int(v * 255) for v in col)
        x0, y0 = r.uniform(-w * 0.2, w), r.uniform(-h * 0.5, h)
        x1, y1 = x0 + r.uniform(2, w * 0.6 + 4), y0 + r.uniform(2, h * 1.5)
        kind = r.randrange(4)
        if kind == 0:
            d.ellipse((x0, y0, x1, y1), fill=colt)
        elif kind == 1:
            d.rectangle((x0, y0, x1, y1), fill=colt)
        elif kind == 2:
            d.line((x0, y0, x1, y1), fill=colt, width=r.randint(1, 4))
        else:
            pts = [(r.uniform(-5, w + 5), r.uniform(-5, h + 5)) for _ in range(3)]
            d.polygon(pts, fill=colt)
    img = img.filter(ImageFilter.GaussianBlur(r.uniform(0.5, 2.0)))
    return np.asarray(img, np.float32) / 255.0


def _curve(
    r: random.Random, fill: Image.Image, outline: Image.Image | None, amp: float
) -> tuple[Image.Image, Image.Image | None, float, float]:
    """Shift columns vertically (arc or sine baseline). Returns images and the dy range."""
    w, h = fill.size
    x = np.arange(w, dtype=np.float32)
    if r.random() < 0.6:
        t = (x - w / 2) / (w / 2)
        dy = amp * (t * t) * (1 if r.random() < 0.5 else -1)
    else:
        lam = r.uniform(0.6, 1.5) * w
        dy = amp * np.sin(2 * math.pi * x / lam + r.uniform(0, 6.3))
    shift = np.round(dy).astype(np.intp)
    rows = np.arange(h, dtype=np.intp)[:, None] - shift[None, :]
    valid = (rows >= 0) & (rows < h)
    rows = np.clip(rows, 0, h - 1)
    cols = np.arange(w, dtype=np.intp)[None, :]

    def apply(im: Image.Image) -> Image.Image:
        a = np.asarray(im)
        return Image.fromarray(np.where(valid, a[rows, cols], 0).astype(np.uint8), "L")

    out = apply(outline) if outline is not None else None
    return apply(fill), out, float(shift.min()), float(shift.max())


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 projective transform mapping the 4 ``src`` points onto ``dst``."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(src, dst, strict=True)):
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * i], b[2 * i + 1] = u, v
    hvec = np.linalg.solve(a, b)
    return np.append(hvec, 1.0).reshape(3, 3)


def preview(n: int = 32, seed: int = 0) -> Image.Image:
    """Stack ``n`` samples vertically (labels drawn on the right) for visual inspection."""
    vocab = string.digits + string.ascii_letters + string.punctuation
    gen = SynthWordGenerator(vocab, seed=seed)
    samples = [gen[i] for i in range(n)]
    h = gen.config.height
    img_w = max(im.width for im, _ in samples)
    label_w = 16 * 12
    sheet = Image.new("RGB", (img_w + label_w + 8, n * (h + 4)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    try:
        lab_font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(14)
    except TypeError:  # Pillow < 10.1
        lab_font = ImageFont.load_default()
    for i, (im, label) in enumerate(samples):
        y = i * (h + 4) + 2
        sheet.paste(im, (0, y))
        draw.text((img_w + 8, y + h // 2), f"{i}: {label}", fill=(200, 0, 0), font=lab_font, anchor="lm")
    return sheet
