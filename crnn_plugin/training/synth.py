"""Synthetic word-image generator (MJSynth / SynthText style) for CRNN training.

:class:`SynthWordGenerator` is an "infinite", index-addressable source of ``(image, label)``
pairs: sample ``i`` is a pure function of ``(seed, i)``, so it is reproducible in any process
(e.g. in data-loader workers). Images are RGB, exactly ``SynthConfig.height`` pixels high,
with a width that follows the rendered text.

One sample goes through small modules with one job each: a label (:mod:`.synth_text`), a
font covering it (:mod:`.synth_fontpick`), glyph masks on a straight baseline
(:mod:`.synth_layout`) or along a circle (:mod:`.synth_arc`), scene geometry and the crop
(:mod:`.synth_geometry`), colours, backgrounds, photos and 3D effects (:mod:`.synth_compose`)
and degradations (:mod:`.synth_degrade`).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import FontInfo, find_fonts
from .synth_arc import render_arc
from .synth_compose import Compositor, restore_strokes
from .synth_config import SynthConfig
from .synth_degrade import degrade
from .synth_fontpick import FontPicker, load_font
from .synth_geometry import output_size, plan_warp
from .synth_layout import TextMasks, render_straight
from .synth_photos import PhotoTextures
from .synth_sampling import SAMPLES, sample_rngs
from .synth_text import TextSampler

__all__ = ["SynthConfig", "SynthWordGenerator", "preview"]


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
        allowed = frozenset(c for c in vocab if c in printable)
        if not allowed - {" "}:
            raise ValueError("vocab has no printable ASCII character to render")
        cfg = self.config
        self._text = TextSampler(allowed, cfg, words)
        self._fonts = FontPicker(self.fonts, allowed, cfg.max_families_per_source)
        self._compose = Compositor(cfg, PhotoTextures(cfg.photo_dirs))

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        rng, r = sample_rngs(self.seed, index)
        text = self._text.sample(r)
        finfo, text = self._fonts.pick(r, text)
        return self._render(r, rng, text, finfo), text

    def _layout(self, r: random.Random, text: str, finfo: FontInfo) -> tuple[TextMasks, bool]:
        """Glyph masks of ``text`` (curved with ``p_arc``) and whether the text is hollow."""
        cfg = self.config
        size = r.randint(*cfg.font_size)
        font = load_font(str(finfo.path), size)
        stroke = max(1, round(size * r.uniform(0.03, 0.08))) if r.random() < cfg.p_outline else 0
        hollow = bool(stroke) and r.random() < cfg.p_hollow
        if hollow:
            stroke = max(stroke, 2, round(size * 0.05))  # thick enough to survive the resize
        if len(text.replace(" ", "")) >= 2 and r.random() < cfg.p_arc:
            return render_arc(r, font, finfo, text, stroke, cfg), hollow
        return render_straight(r, font, finfo, text, stroke, cfg, self._neighbour_word), hollow

    def _neighbour_word(self, r: random.Random) -> str:
        return self._text.case(r, self._text.word(r))

    def _render(self, r: random.Random, rng: np.random.Generator, text: str, finfo: FontInfo) -> Image.Image:
        masks, hollow = self._layout(r, text, finfo)
        warp = plan_warp(r, rng, self.config, masks.box, masks.box_h, masks.gaps)
        size = output_size(self.config, warp.crop)
        a_fill = np.asarray(warp.apply(masks.fill, size), np.float32) / 255.0
        a_out = None
        if masks.outline is not None:
            a_out = np.asarray(warp.apply(masks.outline, size), np.float32) / 255.0
        a_fill, a_out = restore_strokes(a_fill, a_out)
        return degrade(r, rng, self.config, self._compose(r, rng, a_fill, a_out, hollow))


def preview(n: int = 32, seed: int = 0, *, config: SynthConfig | None = None) -> Image.Image:
    """Stack ``n`` samples vertically (labels drawn on the right) for visual inspection."""
    vocab = string.digits + string.ascii_letters + string.punctuation
    gen = SynthWordGenerator(vocab, seed=seed, config=config)
    return contact_sheet([("", [gen[i] for i in range(n)])], height=gen.config.height)


def contact_sheet(
    rows: Sequence[tuple[str, Sequence[tuple[Image.Image, str]]]], *, height: int
) -> Image.Image:
    """Samples one per line under section titles, each with its label in red on the right."""
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(14)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    lines = sum(len(s) + (1 if title else 0) for title, s in rows)
    img_w = max((im.width for _, s in rows for im, _ in s), default=1)
    label_w = max((font.getlength(f"{len(s)}: {lab}") for _, s in rows for _, lab in s), default=0)
    sheet = Image.new("RGB", (img_w + int(label_w) + 16, lines * (height + 4)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = 2
    for title, samples in rows:
        if title:
            draw.text((4, y + height // 2), title, fill=(0, 0, 160), font=font, anchor="lm")
            y += height + 4
        for i, (im, label) in enumerate(samples):
            sheet.paste(im, (0, y))
            draw.text((img_w + 8, y + height // 2), f"{i}: {label}", fill=(200, 0, 0), font=font, anchor="lm")
            y += height + 4
    return sheet
