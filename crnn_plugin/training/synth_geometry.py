"""Scene geometry: the text box mapped by one homography, cropped and scaled to the output height.

Small distortions (shear, rotation, corner jitter) and strong perspective (the text plane
turned in 3D by a yaw up to ``max_yaw_deg`` and a pitch, seen through a pinhole camera) all
move the four corners of the text box; the crop is taken around the moved quad, tight for
side views, as a text detector would crop it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .synth_config import SynthConfig
from .synth_layout import NO_GAPS, Gaps

__all__ = ["Warp", "homography", "plan_warp", "side_view"]


@dataclass
class Warp:
    """Where the text box goes (``dst``, from ``src``) and the crop around it, in canvas pixels."""

    src: np.ndarray  # (4, 2) corners of the text box: top-left, top-right, bottom-right, bottom-left
    dst: np.ndarray  # (4, 2) the same corners after the geometry
    crop: tuple[int, int, int, int]  # x0, y0, x1, y1
    moved: bool  # whether dst differs from src (else a plain crop)

    def apply(self, im: Image.Image, out_size: tuple[int, int]) -> Image.Image:
        """``im`` (a canvas) warped, cropped and resized to ``out_size``."""
        x0, y0, x1, y1 = self.crop
        size = (max(1, x1 - x0), max(1, y1 - y0))
        if self.moved:
            inv = np.linalg.inv(homography(self.src, self.dst))
            inv = inv @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], float)
            inv /= inv[2, 2]
            coeffs = tuple(float(v) for v in inv.ravel()[:8])
            im = im.transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
        else:
            im = im.crop((x0, y0, x1, y1))
        return im.resize(out_size, Image.Resampling.BILINEAR)


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 projective transform mapping the 4 ``src`` points onto ``dst``."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(src, dst, strict=True)):
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * i], b[2 * i + 1] = u, v
    hvec = np.linalg.solve(a, b)
    return np.append(hvec, 1.0).reshape(3, 3)


def side_view(quad: np.ndarray, yaw: float, pitch: float, distance: float) -> np.ndarray:
    """``quad`` on a plane turned by ``yaw`` (about the vertical) and ``pitch`` (radians), seen
    by a pinhole camera ``distance`` pixels away; the centre keeps its place and scale."""
    c = quad.mean(0)
    pts = np.column_stack([quad - c, np.zeros(len(quad))])
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    q = pts @ (rot_y @ rot_x).T
    z = q[:, 2] + distance
    return np.column_stack([q[:, 0] * distance / z, q[:, 1] * distance / z]) + c


def plan_warp(
    r: random.Random,
    rng: np.random.Generator,
    cfg: SynthConfig,
    box: tuple[float, float, float, float],
    box_h: float,
    gaps: Gaps = NO_GAPS,
) -> Warp:
    """Draw the geometry of one sample and the crop around the text quad."""
    bx0, by0, bx1, by1 = box
    src = np.array([[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]], np.float64)
    dst = src.copy()
    moved = False
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    if r.random() < cfg.p_shear:
        k = r.uniform(-cfg.max_shear, cfg.max_shear)
        dst[:, 0] -= k * (dst[:, 1] - cy)
        moved = True
    if r.random() < cfg.p_rotate:
        t = math.radians(r.uniform(-cfg.max_rotate_deg, cfg.max_rotate_deg))
        rx, ry = dst[:, 0] - cx, dst[:, 1] - cy
        cos_t, sin_t = math.cos(t), math.sin(t)
        dst = np.stack([cx + rx * cos_t - ry * sin_t, cy + rx * sin_t + ry * cos_t], 1)
        moved = True
    if r.random() < cfg.p_perspective:
        dst += rng.uniform(-1, 1, (4, 2)) * cfg.max_perspective * box_h
        moved = True
    strong = r.random() < cfg.p_strong_perspective
    if strong:
        yaw = math.radians(cfg.max_yaw_deg) * r.uniform(0.3, 1.0) * r.choice((-1, 1))
        pitch = math.radians(cfg.max_pitch_deg) * r.uniform(-1.0, 1.0)
        width = float(np.ptp(dst[:, 0]))
        dst = side_view(dst, yaw, pitch, width * r.uniform(0.9, 2.5) + 2 * box_h)
        moved = True
    # no random draw when the option is off: seeds of configs without it stay as they were
    tilt = cfg.p_tilt > 0 and (bx1 - bx0) <= cfg.tilt_max_aspect * box_h and r.random() < cfg.p_tilt
    if tilt:
        dst = _rotated(dst, math.radians(r.uniform(*cfg.tilt_deg) * r.choice((-1, 1))))
        moved = True
    sides = _side_edges(src, dst, gaps, box_h)
    return Warp(src, dst, _crop(r, cfg, dst, box_h, gaps, sides, tight=strong or tilt), moved)


def _rotated(quad: np.ndarray, angle: float) -> np.ndarray:
    """``quad`` (4, 2) rotated by ``angle`` (radians) about its centre."""
    c = quad.mean(0)
    cos_t, sin_t = math.cos(angle), math.sin(angle)
    rot = np.array([[cos_t, -sin_t], [sin_t, cos_t]])
    return (quad - c) @ rot.T + c


def _side_edges(
    src: np.ndarray, dst: np.ndarray, gaps: Gaps, box_h: float
) -> tuple[float | None, float | None]:
    """x where the neighbouring words' ink starts after the geometry (the side nearest the text)."""
    _, _, left, right = gaps
    if left is None and right is None:
        return None, None
    hom = homography(src, dst)
    (x0, y0), (x1, y1) = src.min(0), src.max(0)

    def mapped_x(x: float) -> np.ndarray:
        pts = np.array([[x, y0, 1.0], [x, y1, 1.0]]) @ hom.T
        return pts[:, 0] / pts[:, 2]

    lx = float(mapped_x(x0 - left * box_h).max()) if left is not None else None
    rx = float(mapped_x(x1 + right * box_h).min()) if right is not None else None
    return lx, rx


def _crop(
    r: random.Random,
    cfg: SynthConfig,
    dst: np.ndarray,
    box_h: float,
    gaps: Gaps,
    sides: tuple[float | None, float | None],
    *,
    tight: bool,
) -> tuple[int, int, int, int]:
    """Crop rectangle around the moved quad: random margins, neighbour slivers, cut glyph edges."""
    squeeze = 0.3 if tight else 1.0  # side views: a detector's tight box around the quad
    mx0 = squeeze * (cfg.margin_x[0] + (cfg.margin_x[1] - cfg.margin_x[0]) * r.random() ** 2)
    mx1 = squeeze * (cfg.margin_x[0] + (cfg.margin_x[1] - cfg.margin_x[0]) * r.random() ** 2)
    my0 = squeeze * (cfg.margin_y[0] + (cfg.margin_y[1] - cfg.margin_y[0]) * r.random() ** 1.5)
    my1 = squeeze * (cfg.margin_y[0] + (cfg.margin_y[1] - cfg.margin_y[0]) * r.random() ** 1.5)
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
    x0, y0 = math.floor(dx0 - mx0 * box_h), math.floor(dy0 - my0 * box_h)
    x1, y1 = math.ceil(dx1 + mx1 * box_h), math.ceil(dy1 + my1 * box_h)
    # a sliver (a few pixels) of the neighbouring words, never cutting the text itself
    if sides[0] is not None:
        x0 = math.floor(min(sides[0] - r.uniform(0.02, 0.08) * box_h, dx0))
    if sides[1] is not None:
        x1 = math.ceil(max(sides[1] + r.uniform(0.02, 0.08) * box_h, dx1))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def output_size(cfg: SynthConfig, crop: tuple[int, int, int, int]) -> tuple[int, int]:
    """(width, height) of the output image: the configured height, the crop's aspect ratio."""
    crop_w, crop_h = crop[2] - crop[0], crop[3] - crop[1]
    out_h = cfg.height
    out_w = round(crop_w * out_h / crop_h)
    lo, hi = int(out_h * cfg.min_width_factor), int(out_h * cfg.max_width_factor)
    return int(min(max(out_w, lo, 1), hi)), out_h
