"""Synthetic crops of scanned forms and receipts: small print brought to height 32.

:class:`SynthDocumentGenerator` is an index-addressable source like
:class:`~crnn_plugin.training.synth.SynthWordGenerator`: ``gen[i] -> (RGB image, label)``,
sample ``i`` a pure function of ``(seed, i)``. Words (and, with a space in the vocab, lines of
2-8 tokens) of forms and receipts are set in document faces 6-16 px high, printed, scanned
(thresholds, toner and fax noise, JPEG, slight skew) and cut like a detector's box.

The parts: :mod:`.synth_document_text` (labels), :mod:`.synth_document_faces` (fonts),
:mod:`.synth_document_render` (print-resolution ink), :mod:`.synth_document_scan` (scanning).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

from .fonts import FontInfo, find_fonts
from .synth_document_faces import FacePicker
from .synth_document_render import InkOptions, render_ink
from .synth_document_scan import ScanOptions, scan_ink
from .synth_document_text import DocTextSampler
from .synth_sampling import SAMPLES, sample_rngs

__all__ = ["SynthDocConfig", "SynthDocumentGenerator", "preview"]


@dataclass
class SynthDocConfig:
    """Knobs of :class:`SynthDocumentGenerator`."""

    p_line: float = 0.4  # lines of tokens (only when the vocab has a space)
    line_tokens: tuple[int, int] = (2, 8)
    max_line_len: int = 60
    max_len: int = 25  # longest single token
    english_top_n: int = 50000
    ink: InkOptions = field(default_factory=InkOptions)
    scan: ScanOptions = field(default_factory=ScanOptions)


class SynthDocumentGenerator:
    """Index-addressable crops of scanned documents: ``gen[i] -> (RGB image, label)``.

    Args:
        vocab: characters allowed in labels; lines are drawn only if it has a space.
        seed: base seed; sample ``i`` depends only on ``(seed, i)``.
        fonts: fonts to choose the document faces from (default: :func:`find_fonts`).
        words: word list (most frequent first) replacing the wordfreq English list.
        config: sampling and rendering options.
    """

    def __init__(
        self,
        vocab: str,
        *,
        seed: int = 0,
        fonts: Sequence[FontInfo] | None = None,
        words: Sequence[str] | None = None,
        config: SynthDocConfig | None = None,
    ) -> None:
        self.vocab = vocab
        self.seed = int(seed)
        self.config = config if config is not None else SynthDocConfig()
        self.fonts = list(find_fonts() if fonts is None else fonts)
        if not self.fonts:
            raise RuntimeError("no usable fonts found; install some (scripts/install_training_deps.sh)")
        cfg = self.config
        self._text = DocTextSampler(
            vocab,
            words=words,
            p_line=cfg.p_line,
            line_tokens=cfg.line_tokens,
            max_line_len=cfg.max_line_len,
            max_len=cfg.max_len,
            english_top_n=cfg.english_top_n,
        )
        self._faces = FacePicker(self.fonts)
        self._vocab_set = frozenset(vocab)

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        rng, r = sample_rngs(self.seed, index)
        for _ in range(4):
            text = self._text.sample(r)
            face = self._faces.face(r)
            if face == "smallcaps" and not self._upper_ok(text):
                face = "serif"  # small caps read as capitals: the vocab must have them
            finfo, text = self._faces.pick(r, face, text)
            if text:
                break
        else:
            finfo, text, face = self._fallback()

        def neighbor(rr: random.Random) -> str:
            return " ".join(self._text.token(rr) for _ in range(6))

        ink = render_ink(r, text, finfo, face, self.config.ink, neighbor)
        return scan_ink(r, rng, ink, self.config.scan), ink.label

    def _upper_ok(self, text: str) -> bool:
        return all(c.upper() in self._vocab_set for c in text)

    def _fallback(self) -> tuple[FontInfo, str, str]:
        """A font and one vocab character it renders (when no sampled text could be drawn)."""
        for font in self._faces.fonts:
            for c in sorted(self._vocab_set - {" "}):
                if c in font.charset:
                    return font, c, "any"
        raise RuntimeError("no font can render any character of the vocab")


def preview(n: int = 48, seed: int = 0, *, vocab: str | None = None) -> Image.Image:
    """Sheet of ``n`` samples (labels on the right) for looking at the data."""
    vocab = vocab if vocab is not None else string.digits + string.ascii_letters + string.punctuation + " "
    gen = SynthDocumentGenerator(vocab, seed=seed)
    samples = [gen[i] for i in range(n)]
    h = gen.config.scan.height
    img_w = max(im.width for im, _ in samples)
    label_w = 420
    sheet = Image.new("RGB", (img_w + label_w + 8, n * (h + 6)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(15)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    for i, (im, label) in enumerate(samples):
        y = i * (h + 6) + 3
        sheet.paste(im, (0, y))
        draw.text((img_w + 8, y + h // 2), f"{i}: {label}", fill=(200, 0, 0), font=font, anchor="lm")
    return sheet


if __name__ == "__main__":  # python -m crnn_plugin.training.synth_document [sheet.png [seed]]
    import sys

    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/doc_preview.png"
    preview(seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0).save(out)
