"""crnn_plugin.views: which views of a crop are read, and which reading wins."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import render_word
from PIL import Image

from crnn_plugin import Recognizer
from crnn_plugin.ctc import Decoded
from crnn_plugin.views import STRETCH_BELOW, STRETCH_RATIO, CropViews, choose_views

pytestmark = pytest.mark.light


def _arr(tag: float, width: int = 16) -> np.ndarray:
    return np.full((3, 32, width), tag, dtype=np.float32)


def _reader(answers: dict[float, tuple[str, float]], seen: list[float]):  # type: ignore[no-untyped-def]
    """A fake ``read``: each array is identified by its fill value."""

    def read(arrays: list[np.ndarray]) -> list[Decoded]:
        out = []
        for a in arrays:
            tag = float(a.flat[0])
            seen.append(tag)
            text, conf = answers[tag]
            out.append(Decoded(text, conf, tuple(conf for _ in text)))
        return out

    return read


def test_the_stretched_view_is_read_only_when_the_reading_is_unsure() -> None:
    sure = CropViews([_arr(1)], stretched=_arr(2, 96))
    unsure = CropViews([_arr(3)], stretched=_arr(4, 96))
    plain = CropViews([_arr(5)])
    seen: list[float] = []
    answers = {
        1.0: ("sure", STRETCH_BELOW + 0.05),
        2.0: ("other", 0.99),
        3.0: ("mrnet", 0.1),
        4.0: ("market", 0.9),
    }
    arrays, reads = choose_views([sure, unsure, plain], _reader(answers, seen))
    assert 2.0 not in seen and 5.0 not in seen  # a sure reading is not re-read; a plain crop waits
    assert [r.text if r else None for r in reads] == ["sure", "market", None]
    assert arrays[1] is unsure.stretched and arrays[0] is sure[0] and arrays[2] is plain[0]


def test_deskewed_views_are_made_and_read_only_for_unsure_crops() -> None:
    made: list[str] = []

    def deskewed(tag: float, name: str):  # type: ignore[no-untyped-def]
        def make() -> list[np.ndarray]:
            made.append(name)
            return [_arr(tag, 96)]

        return make

    sure = CropViews([_arr(1)], stretched=_arr(2, 96), deskewed=deskewed(3, "sure"))
    unsure = CropViews([_arr(4)], stretched=_arr(5, 96), deskewed=deskewed(6, "unsure"))
    weak = CropViews([_arr(7)], stretched=_arr(8, 96), deskewed=deskewed(9, "weak"))
    answers = {
        1.0: ("sure", STRETCH_BELOW + 0.05),
        4.0: ("hotcl", 0.1),
        5.0: ("hatel", 0.3),
        6.0: ("hotel", 0.95),  # the deskewed reading beats the stretched one
        7.0: ("cafe", 0.5),
        8.0: ("cafe", 0.6),
        9.0: ("cafo", 0.2),  # less probable: the stretched reading stays
    }
    seen: list[float] = []
    arrays, reads = choose_views([sure, unsure, weak], _reader(answers, seen))
    assert made == ["unsure", "weak"] and 3.0 not in seen
    assert [r.text if r else None for r in reads] == ["sure", "hotel", "cafe"]
    assert float(arrays[1].flat[0]) == 6.0 and arrays[2] is weak.stretched


@pytest.mark.parametrize(
    ("stretched", "wins"),
    [(("ab", 0.8), True), (("a", 0.99), False), (("abc", 0.2), False)],
)
def test_a_stretched_reading_wins_only_if_more_probable_and_two_characters(
    stretched: tuple[str, float], wins: bool
) -> None:
    views = CropViews([_arr(1)], stretched=_arr(2, 96))
    _, reads = choose_views([views], _reader({1.0: ("x", 0.3), 2.0: stretched}, []))
    assert reads[0] is not None
    assert (reads[0].text == stretched[0]) is wins


def test_condensed_words_read_right_with_the_stretched_view() -> None:
    """The shipped model on words squeezed to 30 % of their width (as tall fonts and slanted
    boxes leave them): stretched to 3:1 they read right; as given they do not."""
    words = ["STREET", "Coffee", "minimum"]
    crops = []
    for w in words:
        im = render_word(w, size=36)
        crops.append(im.resize((int(im.width * 0.3), im.height), Image.Resampling.BILINEAR))
    rec = Recognizer.from_pretrained(device="cpu")
    assert all(rec.prepare(c).shape[-1] < STRETCH_RATIO * 32 for c in crops)
    assert [p.text for p in rec(crops)] == words
    plain = Recognizer.from_pretrained(device="cpu", stretch_narrow=False)
    assert [p.text for p in plain(crops)] != words
    wide = render_word("STREET", size=36)  # a crop already wider than 3:1 has no stretched view
    assert rec.prepare_variants(wide).stretched is None
