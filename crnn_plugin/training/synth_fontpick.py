"""Font choice for the synthetic generator: balanced sampling and a font that covers the text."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

from PIL import ImageFont

from .fonts import FontInfo
from .synth_sampling import choice_weighted, cumulative

__all__ = ["FontPicker", "load_font"]


@functools.lru_cache(maxsize=256)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType font at ``size`` pixels (basic layout: one glyph per character), cached."""
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def font_weights(fonts: Sequence[FontInfo], max_families_per_source: int) -> list[float]:
    """Balance sampling: families weigh the same; a directory weighs <= N families."""
    fam_size: dict[tuple[str, str], int] = {}
    src_fams: dict[str, set[str]] = {}
    for f in fonts:
        src, fam = str(f.path.parent), f.family or f.path.stem
        fam_size[src, fam] = fam_size.get((src, fam), 0) + 1
        src_fams.setdefault(src, set()).add(fam)
    cap = max(1, max_families_per_source)
    weights = []
    for f in fonts:
        src, fam = str(f.path.parent), f.family or f.path.stem
        n_fam = len(src_fams[src])
        weights.append(min(n_fam, cap) / n_fam / fam_size[src, fam])
    return weights


class FontPicker:
    """Draws a font covering the text (characters drawn like other letters do not count)."""

    def __init__(self, fonts: Sequence[FontInfo], allowed: frozenset[str], max_families_per_source: int):
        self.fonts = list(fonts)
        self._cum = cumulative(font_weights(self.fonts, max_families_per_source))
        # characters each font renders faithfully (caps-like lowercase letters excluded)
        self._cover = [f.charset - getattr(f, "ambiguous", frozenset()) for f in self.fonts]
        self._allowed_sorted = "".join(sorted(allowed - {" "}))

    def pick(self, r: random.Random, text: str) -> tuple[FontInfo, str]:
        """Choose a font covering ``text``; drop uncovered chars if none does."""
        need = set(text) - {" "}  # a space is an advance, not a glyph
        first = choice_weighted(r, self._cum)
        if need <= self._cover[first]:
            return self.fonts[first], text
        for _ in range(6):
            i = choice_weighted(r, self._cum)
            if need <= self._cover[i]:
                return self.fonts[i], text
        covering = [i for i, cov in enumerate(self._cover) if need <= cov]
        if covering:
            return self.fonts[covering[r.randrange(len(covering))]], text
        kept = " ".join("".join(c for c in text if c == " " or c in self._cover[first]).split())
        if kept:
            return self.fonts[first], kept
        # no font renders any char of the text: use any (font, vocab char) pair
        pairs = [(i, c) for c in self._allowed_sorted for i, cov in enumerate(self._cover) if c in cov]
        if not pairs:
            raise RuntimeError("no font can render any character of the vocab")
        i, c = pairs[r.randrange(len(pairs))]
        return self.fonts[i], c
