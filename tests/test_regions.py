"""Any-detector API: boxes in three formats and rotated quadrilaterals, drawn in the test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _helpers import render_word
from PIL import Image

from crnn_plugin import Recognizer, recognize_regions
from crnn_plugin.regions import crop_box, order_quad, rectify_quad

pytestmark = pytest.mark.light


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    """The shipped model on the CPU (its int8 export: what the light install runs)."""
    return Recognizer.from_pretrained(device="cpu")


@pytest.fixture
def page() -> tuple[Image.Image, Image.Image]:
    word = render_word("region", height=40)
    canvas = Image.new("RGB", (400, 200), "white")
    canvas.paste(word, (50, 30))
    return canvas, word


def test_box_formats_crop_the_same_region(page: tuple[Image.Image, Image.Image]) -> None:
    canvas, word = page
    w, h = word.size
    xyxy = crop_box(canvas, [50, 30, 50 + w, 30 + h])
    easy = crop_box(canvas, [50, 50 + w, 30, 30 + h], box_format="easyocr")
    xywh = crop_box(canvas, [50, 30, w, h], box_format="xywh")
    for c in (xyxy, easy, xywh):
        assert np.array_equal(np.asarray(c), np.asarray(word))


@pytest.mark.parametrize(
    ("box", "match"),
    [
        ([10, 10, 5, 20], "empty or inverted"),
        ([1, 2, 3], "4 finite numbers"),
        ([0, 0, float("nan"), 5], "4 finite"),
        ([500, 500, 600, 600], "outside"),
    ],
)
def test_invalid_boxes(page: tuple[Image.Image, Image.Image], box: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        crop_box(page[0], box, index=3)


def test_quad_ordering_from_any_start_and_direction() -> None:
    quad = [[10, 10], [110, 20], [105, 50], [5, 40]]  # TL, TR, BR, BL (clockwise on screen)
    ref = np.array(quad, dtype=float)
    for k in range(4):
        rolled = quad[k:] + quad[:k]
        assert np.allclose(order_quad(rolled), ref)
        assert np.allclose(order_quad(rolled[::-1]), ref)


@pytest.mark.parametrize(
    ("poly", "match"),
    [
        ([[0, 0], [10, 0], [20, 0], [30, 0]], "invalid|area"),  # collinear in every order
        ([[0, 0], [1, 0], [1, 0.5], [0, 0.5]], "area"),
        ([[0, 0], [1, 1], [2, 2]], "4 finite"),
    ],
)
def test_invalid_polygons(poly: list[list[float]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        order_quad(poly)


def test_rectify_undoes_a_rotation() -> None:
    word = render_word("tilted", height=40)
    w, h = word.size
    canvas = Image.new("RGB", (w * 2, w * 2), "white")
    canvas.paste(word, (w // 2, w // 2))
    angle = 25.0
    rotated = canvas.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor="white")
    c = np.array([w, w], dtype=float)
    t = np.deg2rad(angle)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])  # PIL rotates counter-clockwise
    corners = np.array(
        [[w // 2, w // 2], [w // 2 + w, w // 2], [w // 2 + w, w // 2 + h], [w // 2, w // 2 + h]]
    )
    quad = (corners - c) @ rot.T + c
    out = rectify_quad(rotated, order_quad(quad[::-1].tolist()))
    assert abs(out.width - w) <= 2 and abs(out.height - h) <= 2
    diff = np.abs(np.asarray(out.resize(word.size)).astype(float) - np.asarray(word).astype(float)).mean()
    assert diff < 20  # same word, upright (a 180-degree error would differ far more)


def test_recognize_returns_easyocr_triples_in_order(
    rec: Recognizer, page: tuple[Image.Image, Image.Image]
) -> None:
    canvas, word = page
    boxes = [[50, 30, 50 + word.width, 30 + word.height], [0, 0, 40, 40]]
    polys = [[[50, 30], [50 + word.width, 30], [50 + word.width, 70], [50, 70]]]
    out = recognize_regions(rec, canvas, boxes=boxes, polygons=polys)
    assert [o[0] for o in out[:2]] == boxes
    assert out[2][0] == [[50.0, 30.0], [50.0 + word.width, 30.0], [50.0 + word.width, 70.0], [50.0, 70.0]]
    assert all(isinstance(t, str) and 0 <= c <= 1 for _, t, c in out)
    assert out[0][1] == rec(crop_box(canvas, boxes[0]))[0].text
    with pytest.raises(ValueError, match="box 1"):
        recognize_regions(rec, canvas, boxes=[boxes[0], [5, 5, 1, 1]])
    assert recognize_regions(rec, canvas) == []


def test_quad_corners_in_any_of_the_24_orders() -> None:
    quad = [[10, 10], [110, 20], [105, 50], [5, 40]]  # TL, TR, BR, BL
    for perm in itertools.permutations(quad):  # crossed orders (TL, TR, BL, BR...) included
        assert np.allclose(order_quad(list(perm)), np.array(quad, dtype=float)), perm


def test_tall_quads_keep_the_image_up_direction() -> None:
    """A region taller than wide (a digit, vertical text) is not turned on its side: its top edge
    is the edge closer to horizontal; the Recognizer decides about rotations (``rotate_tall``)."""
    tall = [[0, 0], [20, 0], [20, 60], [0, 60]]
    for k in range(4):
        assert np.allclose(order_quad(tall[k:] + tall[:k]), np.array(tall, dtype=float))
    steep = [[30, 0], [40, 5], [10, 65], [0, 60]]  # a word tilted ~63 degrees: still upright-ordered
    assert np.allclose(order_quad(steep[::-1]), np.array(steep, dtype=float))


def test_tall_polygon_reads_like_the_same_box(rec: Recognizer) -> None:
    """A digit region given as a polygon reads as it does given as a box (was read sideways)."""
    digit = render_word("4", height=40, size=34)
    assert digit.height > digit.width
    canvas = Image.new("RGB", (200, 120), "white")
    canvas.paste(digit, (60, 30))
    x0, y0, x1, y1 = 60, 30, 60 + digit.width, 30 + digit.height
    by_box = recognize_regions(rec, canvas, boxes=[[x0, y0, x1, y1]])
    by_poly = recognize_regions(rec, canvas, polygons=[[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]])
    assert by_box[0][1] == by_poly[0][1] == "4"


def test_numpy_regions_and_regions_outside(page: tuple[Image.Image, Image.Image], rec: Recognizer) -> None:
    canvas, word = page
    box = [50, 30, 50 + word.width, 30 + word.height]
    polys = np.array([[[50, 30], [150, 30], [150, 70], [50, 70]]])
    out = recognize_regions(rec, canvas, boxes=np.array([box]), polygons=polys)
    assert len(out) == 2 and out[0][0] == box and all(type(v) is int for v in out[0][0])
    assert recognize_regions(rec, canvas, boxes=np.zeros((0, 4)), polygons=np.zeros((0, 4, 2))) == []
    with pytest.raises(ValueError, match="polygon 0: .* lies outside the 400x200 image"):
        recognize_regions(rec, canvas, polygons=[[[500, 500], [600, 500], [600, 540], [500, 540]]])
