"""The views of one crop that the Recognizer reads, and the choice among their readings.

Every crop is read as given. A tall crop (height >= ``TALL_RATIO`` x width) is also read turned
90 degrees both ways: vertical text in scene images is mostly rotated text. A narrow crop (at the
model's height, narrower than ``STRETCH_RATIO`` x height) whose best reading is unsure
(confidence below ``STRETCH_BELOW``) is read once more stretched to ``STRETCH_RATIO``:
axis-aligned boxes around slanted or perspective words, and tall fonts, squeeze the glyphs into
few frames (with fewer than two frames per character the shipped model read 15 % of such
SVT-Perspective crops as given). The most probable reading wins; a view other than the crop as
given wins only if it reads at least two characters (a tall crop may hold one upright character,
a narrow one a single glyph that stretching can double).

With the stretched view, in the same second pass, comes the deskewed view of a crop narrower
than ``DESKEW_RATIO`` (2:1; :mod:`crnn_plugin.deskew`: each column shifted so that the
baseline becomes level, the slope picked among ``SHEAR_SLOPES``, at least ``STRETCH_RATIO``
wide): an axis-aligned box around a word seen from the side or turned holds it along a
diagonal. It is made only when needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .ctc import Decoded

__all__ = ["TALL_RATIO", "STRETCH_RATIO", "STRETCH_BELOW", "CropViews", "choose_views", "wins"]

#: A crop at least this many times as tall as wide is also read rotated 90 degrees both ways.
TALL_RATIO = 1.5
#: A crop narrower than this many times its height may also be read stretched to this aspect.
STRETCH_RATIO = 3.0
#: ... when the best reading of its other views has a confidence below this.
STRETCH_BELOW = 0.9


class CropViews(list[np.ndarray]):
    """The ``(C, H, W)`` arrays read for one input: the crop as given first, then its rotations.
    ``stretched``: the crop stretched to ``STRETCH_RATIO`` (None: not narrow, or not asked for),
    read only when the others leave the reading unsure, together with the arrays ``deskewed``
    makes (None: no deskewed views)."""

    def __init__(
        self,
        arrays: Iterable[np.ndarray] = (),
        stretched: np.ndarray | None = None,
        deskewed: Callable[[], list[np.ndarray]] | None = None,
    ) -> None:
        super().__init__(arrays)
        self.stretched = stretched
        self.deskewed = deskewed

    def second_pass(self) -> list[np.ndarray]:
        """The views read when the reading is unsure: stretched, then deskewed."""
        if self.stretched is None:
            return []
        return [self.stretched, *(self.deskewed() if self.deskewed is not None else [])]


def _stretched(views: Sequence[np.ndarray]) -> np.ndarray | None:
    return getattr(views, "stretched", None)


def _second_pass(views: Sequence[np.ndarray]) -> list[np.ndarray]:
    return views.second_pass() if isinstance(views, CropViews) else []


def wins(text: str, confidence: float, best_confidence: float) -> bool:
    """Whether another view's reading replaces the best so far: two characters or more, and
    more probable."""
    return len(text) >= 2 and confidence > best_confidence


def _wins(d: Decoded, best: Decoded) -> bool:
    return wins(d.text, d.confidence, best.confidence)


def choose_views(
    views: Sequence[Sequence[np.ndarray]], read: Callable[[list[np.ndarray]], list[Decoded]]
) -> tuple[list[np.ndarray], list[Decoded | None]]:
    """One array per input: the only view, or the one whose best-path reading is most probable
    (rules above). ``read`` decodes a list of arrays (``Recognizer.predict_tensors``). Also
    returns the chosen reading of every input that had several views (None for the others)."""
    out = [v[0] for v in views]
    todo = [i for i, v in enumerate(views) if len(v) > 1 or _stretched(v) is not None]
    decoded = read([t for i in todo for t in views[i]]) if todo else []
    chosen: dict[int, Decoded] = {}
    k = 0
    for i in todo:
        options = decoded[k : k + len(views[i])]
        k += len(views[i])
        best = 0
        for j, d in enumerate(options[1:], 1):
            if _wins(d, options[best]):
                best = j
        out[i], chosen[i] = views[i][best], options[best]
    unsure = [
        (i, extra) for i in todo if chosen[i].confidence < STRETCH_BELOW and (extra := _second_pass(views[i]))
    ]
    again = read([a for _, extra in unsure for a in extra]) if unsure else []
    k = 0
    for i, extra in unsure:
        for a, d in zip(extra, again[k : k + len(extra)]):
            if _wins(d, chosen[i]):
                out[i], chosen[i] = a, d
        k += len(extra)
    reads: list[Decoded | None] = [chosen.get(i) for i in range(len(views))]
    return out, reads
