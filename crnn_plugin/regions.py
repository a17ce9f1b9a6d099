"""Recognise regions of a full image given by any text detector (EasyOCR-style results).

Axis-aligned boxes are cropped; rotated quadrilaterals are validated and ordered with shapely and
rectified with a perspective warp. Results are ``[(box, text, confidence)]`` in input order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .preprocessing import ImageInput, load_image

if TYPE_CHECKING:
    from .recognizer import Recognizer

__all__ = ["BOX_FORMATS", "crop_box", "order_quad", "rectify_quad", "recognize_regions", "perspective_coeffs"]

#: ``xyxy``: ``[x_min, y_min, x_max, y_max]``; ``easyocr``: ``[x_min, x_max, y_min, y_max]``
#: (EasyOCR's ``horizontal_list``); ``xywh``: ``[x_min, y_min, width, height]``. Pixels, origin top-left.
BOX_FORMATS = ("xyxy", "easyocr", "xywh")
#: Regions as detectors return them: nested lists or numpy arrays of shape (N, 4) / (N, 4, 2).
Boxes = Sequence[Sequence[float]] | np.ndarray
Polygons = Sequence[Sequence[Sequence[float]]] | np.ndarray


def _to_xyxy(box: Sequence[float], fmt: str, index: int) -> tuple[float, float, float, float]:
    vals = [float(v) for v in box]
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"box {index}: expected 4 finite numbers, got {list(box)!r}")
    if fmt == "xyxy":
        x0, y0, x1, y1 = vals
    elif fmt == "easyocr":
        x0, x1, y0, y1 = vals
    elif fmt == "xywh":
        x0, y0, w, h = vals
        x1, y1 = x0 + w, y0 + h
    else:
        raise ValueError(f"box_format must be one of {BOX_FORMATS}, got {fmt!r}")
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {index}: empty or inverted box {list(box)!r} in {fmt} format")
    return x0, y0, x1, y1


def crop_box(
    img: Image.Image, box: Sequence[float], *, box_format: str = "xyxy", index: int = 0
) -> Image.Image:
    """Crop an axis-aligned box (clipped to the image); errors name the box."""
    x0, y0, x1, y1 = _to_xyxy(box, box_format, index)
    cx0, cy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    cx1, cy1 = min(img.width, math.ceil(x1)), min(img.height, math.ceil(y1))
    if cx1 - cx0 < 1 or cy1 - cy0 < 1:
        raise ValueError(f"box {index}: {list(box)!r} lies outside the {img.width}x{img.height} image")
    return img.crop((cx0, cy0, cx1, cy1))


def order_quad(points: Sequence[Sequence[float]], *, index: int = 0) -> np.ndarray:
    """Validate a quadrilateral with shapely and order it top-left, top-right, bottom-right,
    bottom-left (clockwise on screen). Returns ``(4, 2)`` float array.

    The corners may come in any order (a crossed order such as TL, TR, BL, BR is re-ordered around
    the centroid). The top edge is the edge pair closer to horizontal, so the rectified crop keeps
    the image's "up": a tall region (a single character, vertical text, a steeply rotated word) stays
    tall and :class:`~crnn_plugin.Recognizer` reads it in all three orientations (``rotate_tall``).
    """
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (4, 2) or not np.isfinite(pts).all():
        raise ValueError(f"polygon {index}: expected 4 finite (x, y) points, got shape {pts.shape}")
    poly = Polygon(pts)
    if not poly.is_valid:  # maybe only listed in a crossed order: try the order around the centroid
        centre = pts.mean(axis=0)
        poly = Polygon(pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))])
    if not poly.is_valid:
        from shapely.validation import explain_validity

        raise ValueError(f"polygon {index}: invalid quadrilateral ({explain_validity(poly)})")
    if poly.area < 1.0:
        raise ValueError(f"polygon {index}: area {poly.area:.2f} px^2 is too small")
    # shapely's counter-clockwise (y up) is clockwise on screen (y down)
    ring = np.asarray(orient(poly, sign=1.0).exterior.coords)[:4]
    edges = [ring[(i + 1) % 4] - ring[i] for i in range(4)]

    def tilt(e: np.ndarray) -> float:  # angle to the horizontal, in [0, pi/2]
        return abs(math.atan2(abs(e[1]), abs(e[0])))

    t02, t13 = tilt(edges[0]) + tilt(edges[2]), tilt(edges[1]) + tilt(edges[3])
    if abs(t02 - t13) < 1e-9:  # 45 degrees: the text runs along the longer pair
        lengths = [float(np.linalg.norm(e)) for e in edges]
        top_pair = [0, 2] if lengths[0] + lengths[2] >= lengths[1] + lengths[3] else [1, 3]
    else:
        top_pair = [0, 2] if t02 < t13 else [1, 3]
    # clockwise on screen, the top edge runs left to right and the bottom edge right to left
    start = max(top_pair, key=lambda i: (edges[i][0], -(ring[i][0] + ring[i][1])))
    return np.roll(ring, -start, axis=0)


def perspective_coeffs(src: np.ndarray, dst: np.ndarray) -> list[float]:
    """Coefficients for PIL's PERSPECTIVE transform mapping output points ``dst`` to input ``src``."""
    a = []
    for (x, y), (u, v) in zip(src, dst):
        a.append([u, v, 1, 0, 0, 0, -x * u, -x * v])
        a.append([0, 0, 0, u, v, 1, -y * u, -y * v])
    return np.linalg.solve(np.asarray(a, dtype=np.float64), src.reshape(8)).tolist()


def rectify_quad(img: Image.Image, quad: np.ndarray) -> Image.Image:
    """Warp an ordered quadrilateral (TL, TR, BR, BL) to an upright rectangle."""
    tl, tr, br, bl = quad
    w = max(1, int(round((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2)))
    h = max(1, int(round((np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2)))
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    return img.transform(
        (w, h), Image.Transform.PERSPECTIVE, perspective_coeffs(quad, dst), Image.Resampling.BILINEAR
    )


def recognize_regions(
    recognizer: Recognizer,
    image: ImageInput,
    *,
    boxes: Boxes | None = None,
    polygons: Polygons | None = None,
    box_format: str = "xyxy",
    **kwargs: Any,
) -> list[tuple[Any, str, float]]:
    """EasyOCR-style ``[(box, text, confidence)]`` for the boxes, then the polygons, in input order.

    Boxes are returned as given; polygons as their ordered 4 points (``[[x, y], ...]``). All crops
    are recognised in one batched call. Invalid regions raise ``ValueError`` naming the region.
    """
    from shapely.geometry import Polygon
    from shapely.geometry import box as shapely_box

    if box_format not in BOX_FORMATS:
        raise ValueError(f"box_format must be one of {BOX_FORMATS}, got {box_format!r}")
    img = load_image(image)
    crops: list[Image.Image] = []
    keys: list[Any] = []
    for i, box in enumerate(boxes if boxes is not None else []):  # lists or numpy arrays
        crops.append(crop_box(img, box, box_format=box_format, index=i))
        keys.append([v.item() if isinstance(v, np.generic) else v for v in box])
    for i, poly in enumerate(polygons if polygons is not None else []):
        quad = order_quad(poly, index=i)
        if Polygon(quad).intersection(shapely_box(0, 0, img.width, img.height)).area < 1.0:
            raise ValueError(
                f"polygon {i}: {quad.round(2).tolist()} lies outside the {img.width}x{img.height} image"
            )
        crops.append(rectify_quad(img, quad))
        keys.append(quad.round(2).tolist())
    if not crops:
        return []
    preds = recognizer(crops, errors="raise", **kwargs)
    return [(k, p.text, p.confidence) for k, p in zip(keys, preds)]
