"""crnn_plugin.deskew: the vertical shear that levels slanted text, and the slope's sign."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import turned_word

from crnn_plugin import Recognizer
from crnn_plugin.deskew import MIN_BAND, SHEAR_SLOPES, shear_band, slant_slope

pytestmark = pytest.mark.light


def _slanted_bars(slope: float, h: int = 60, w: int = 120) -> np.ndarray:
    """White (h, w, 3) uint8 with two dark lines 12 px apart, falling by ``slope`` per column."""
    img = np.full((h, w, 3), 255, np.uint8)
    for x in range(w):
        y = round(h / 2 - 6 + slope * (x - (w - 1) / 2))
        img[y, x] = img[y + 12, x] = 0
    return img


def test_shear_band_levels_a_sloping_line_and_keeps_its_band() -> None:
    img = _slanted_bars(0.3)
    out = shear_band(img, 0.3)
    assert out.dtype == np.uint8 and out.shape == (round(60 - 120 * 0.3), 120, 3)
    dark_rows = [np.flatnonzero(out[:, x, 0] < 128) for x in range(120)]
    assert all(len(r) >= 2 for r in dark_rows)  # both lines kept in every column
    tops = {int(r[0]) for r in dark_rows}
    assert max(tops) - min(tops) <= 1  # level
    # sheared the wrong way the line crosses the band: no row holds it in every column
    wrong = shear_band(img, -0.3)
    assert (wrong[:, :, 0] < 128).sum(axis=1).max() < 60


def test_the_band_is_never_lower_than_min_band_and_float_input_works() -> None:
    img = np.random.default_rng(0).random((40, 300)).astype(np.float32)
    out = shear_band(img, 0.35)
    assert out.dtype == np.float32 and out.shape == (round(MIN_BAND * 40), 300)
    assert out.min() >= img.min() and out.max() <= img.max()  # bilinear, edges replicated


@pytest.mark.parametrize("slope", [s * sign for s in SHEAR_SLOPES for sign in (1, -1)])
def test_slant_slope_finds_the_slope_that_levels_the_text(slope: float) -> None:
    assert slant_slope(_slanted_bars(slope, h=80)[:, :, 0]) == slope


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="shear_band"):
        shear_band(np.zeros(10, np.uint8), 0.3)
    with pytest.raises(ValueError, match="shear_band"):
        shear_band(np.zeros((0, 5, 3), np.uint8), 0.3)


def test_rotated_words_read_right_with_the_deskewed_view() -> None:
    """The shipped model on words turned 25-30 degrees in an axis-aligned box (a sign seen from
    below): with the deskewed view they read right; with the stretched view alone they do not."""
    cases = [("MARKET", 30), ("Hotel", -25), ("garden", 25), ("CINEMA", -30)]
    crops = [turned_word(w, a) for w, a in cases]
    words = [w for w, _ in cases]
    assert [p.text for p in Recognizer.from_pretrained(device="cpu")(crops)] == words
    stretched_only = Recognizer.from_pretrained(device="cpu", deskew_narrow=False)
    assert sum(p.text == w for p, w in zip(stretched_only(crops), words)) <= 1
