"""Text sources of the synthetic generator: words, numbers, dates, codes, punctuation and lines.

:class:`TextSampler` turns a ``random.Random`` into a label that only uses the allowed
characters: a word (at most ``max_len`` characters) or, when the space is allowed, a line of
words joined by single spaces, never leading or trailing.
"""

from __future__ import annotations

import functools
import math
import random
import string
from collections.abc import Callable, Sequence

from .synth_config import SynthConfig
from .synth_sampling import choice_weighted, cumulative

__all__ = ["TextSampler"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TLDS = ("com", "org", "net", "io", "de", "uk", "info", "edu", "gov", "co")
# fmt: off
_UNITS = (
    "kg", "g", "mg", "km", "m", "cm", "mm", "ml", "L", "GB", "MB", "TB", "Hz", "kHz", "V", "W",
    "kW", "mph", "oz", "lb", "ft", "in", "x", "px", "pcs", "min", "h", "s",
)
# fmt: on
_WRAPS = ("()", "[]", "{}", "<>", '""', "''", "**", "__")
_SUFFIXES = (",", ".", "!", "?", ":", ";", "...", "!!", "?!", "'s", "'", "*", "%", "+", "-")
_PREFIXES = ("#", "@", "$", "*", "+", "-", "~", "&", "/", "'", '"')
_JOINERS = ("-", "/", "&", "_", ".", "+", "'", ":", "=", "|", "\\")


@functools.lru_cache(maxsize=4)
def _english_words(top_n: int) -> tuple[str, ...]:
    from wordfreq import top_n_list

    return tuple(top_n_list("en", top_n))


class TextSampler:
    """Labels drawn from weighted sources, mapped into the allowed characters.

    Args:
        allowed: characters a label may use (the space enables multi-word lines).
        config: source weights, case variants and length limits.
        words: word list replacing the wordfreq English list (most frequent first).
    """

    def __init__(self, allowed: frozenset[str], config: SynthConfig, words: Sequence[str] | None) -> None:
        if not allowed:
            raise ValueError("no character to sample text from")
        self.config = config
        self._allowed = allowed
        self._allowed_sorted = "".join(sorted(allowed))
        self._lines = " " in allowed
        cfg = config
        self._source_cum = cumulative(
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
        if words is not None:
            tokens = [t for w in words for t in str(w).split()]
        else:
            tokens = list(_english_words(cfg.english_top_n))
        self._words = [w for w in tokens if 0 < len(w) <= cfg.max_len and w.isascii()]
        if not self._words:
            self._words = ["word"]

    def sample(self, r: random.Random) -> str:
        """A label: a line of words (when the space is allowed, ``p_line``) or one word."""
        if self._lines and r.random() < self.config.p_line:
            return self._sample_line(r)
        return self._sample_word(r)

    def _sample_line(self, r: random.Random) -> str:
        """2-8 words, numbers, codes... joined by single spaces (the label of a text line).

        A line is in sentence case (``p_line_sentence``: mostly lower-case list words), all upper
        case (``p_line_upper``) or cased word by word.
        """
        cfg = self.config
        n = r.randint(*cfg.line_words)
        u = r.random()
        sentence = u < cfg.p_line_sentence
        upper = not sentence and u < cfg.p_line_sentence + cfg.p_line_upper
        words: list[str] = []
        for i in range(n):
            if sentence and r.random() < 0.8:
                w = self._fit_vocab(self.word(r))
                if i == 0 and r.random() < 0.5:
                    w = w[:1].upper() + w[1:]
            else:
                w = self._sample_word(r)
            w = self._fit_vocab(w.upper()) if upper else w
            if not w:
                continue
            if len(" ".join([*words, w])) > cfg.max_line_len:
                break
            words.append(w)
        return " ".join(words) if words else self._sample_word(r)

    def _sample_word(self, r: random.Random) -> str:
        cfg = self.config
        for attempt in range(10):
            src = self._sources[choice_weighted(r, self._source_cum)]
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

    def word(self, r: random.Random) -> str:
        """A word of the list, by rank: part Zipf-like, part uniform."""
        n = len(self._words)
        if r.random() < self.config.zipf_fraction:
            rank = int(math.exp(r.random() * math.log(n + 1)))  # 1..n, P(rank) ~ 1/rank
        else:
            rank = r.randrange(n)
        return self._words[min(max(rank - 1, 0), n - 1)]

    def _alnum_word(self, r: random.Random) -> str:
        w = "".join(c for c in self.word(r).lower() if c.isalnum())
        return w or "info"

    def case(self, r: random.Random, w: str) -> str:
        """``w`` upper-cased, title-cased, mixed or as is."""
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
        return self.case(r, self.word(r))

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
            return v + self.case(r, r.choice(_UNITS)) if r.random() < 0.2 else v + r.choice(_UNITS)
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
            return r.choice(["#", "@"]) + self.case(r, w1)
        return s(up + dg, 2, 4) + r.choice("-/") + s(up + dg, 2, 4)

    def _src_punct(self, r: random.Random) -> str:
        w = self.case(r, self.word(r))
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
            return w + r.choice(_JOINERS) + self.case(r, self.word(r))
        if u < 0.8:  # acronyms like U.S.A.
            n = r.randint(2, 4)
            letters = [r.choice(string.ascii_uppercase) for _ in range(n)]
            return ".".join(letters) + ("." if r.random() < 0.7 else "")
        if u < 0.87:  # contractions
            return w + r.choice(["'s", "n't", "'ll", "'re", "'ve", "'d", "'m"])
        pool = string.punctuation
        return "".join(r.choice(pool) for _ in range(r.randint(1, 3)))
