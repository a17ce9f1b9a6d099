"""Thin-plate-spline rectifier in front of the convolutions (RARE, Shi et al. CVPR 2016; ASTER, TPAMI 2018).

A small localisation network looks at a fixed-size copy of the crop and predicts ``K`` control
points (``K / 2`` along the top edge, ``K / 2`` along the bottom, in ``[-1, 1]`` coordinates); a
thin-plate spline through them maps every output pixel to a source position, and ``grid_sample``
reads the crop there. The output has the input's size, so any width works (a word or a long
line); everything exports to ONNX (``GridSample`` needs opset 16 or later).

The last localisation layer starts with zero weights and the identity control points as its
bias, and the spline is applied to the *offsets* from them, so a fresh rectifier returns its
input unchanged (up to ``grid_sample`` rounding) and a warm-started model reads as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TPSRectifier", "identity_points", "tps_kernel"]

#: The localisation network sees every crop resized to this ``(height, width)``.
LOC_SIZE = (32, 64)


def identity_points(num_points: int) -> torch.Tensor:
    """``(K, 2)`` control points ``(x, y)`` of the identity: ``K / 2`` on the top edge, ``K / 2``
    on the bottom, evenly spread over ``[-1, 1]``."""
    if num_points < 4 or num_points % 2:
        raise ValueError(f"num_points must be even and >= 4, got {num_points}")
    xs = torch.linspace(-1.0, 1.0, num_points // 2, dtype=torch.float64)
    top = torch.stack([xs, -torch.ones_like(xs)], dim=1)
    bottom = torch.stack([xs, torch.ones_like(xs)], dim=1)
    return torch.cat([top, bottom])


def tps_kernel(points: torch.Tensor, ctrl: torch.Tensor) -> torch.Tensor:
    """``(M, K + 3)`` rows ``[U(|p - c_k|), 1, x, y]`` of the spline for ``(M, 2)`` points and
    ``(K, 2)`` control points, with ``U(r) = r^2 log r^2`` (0 at ``r = 0``)."""
    d2 = (points.unsqueeze(1) - ctrl.unsqueeze(0)).pow(2).sum(-1)  # (M, K)
    u = d2 * torch.log(d2 + 1e-9)
    return torch.cat([u, torch.ones_like(points[:, :1]), points], dim=1)


def _inverse_system(ctrl: torch.Tensor) -> torch.Tensor:
    """``(K + 3, K + 3)`` inverse of the spline's linear system ``[[U, P], [P^T, 0]]``."""
    k = ctrl.shape[0]
    system = torch.zeros(k + 3, k + 3, dtype=torch.float64)
    rows = tps_kernel(ctrl, ctrl)  # (K, K + 3)
    system[:k] = rows
    system[k:, :k] = rows[:, k:].T
    return torch.linalg.inv(system)


class TPSRectifier(nn.Module):
    """``(N, C, H, W)`` -> ``(N, C, H, W)``: the crop resampled through a predicted thin-plate spline.

    >>> rect = TPSRectifier(3).eval()
    >>> x = torch.randn(2, 3, 32, 100)
    >>> bool(torch.allclose(rect(x), x, atol=1e-5))
    True
    """

    def __init__(
        self, in_channels: int, *, num_points: int = 20, channels: tuple[int, ...] = (32, 64, 128, 128)
    ):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for c in channels:  # each block halves both sides: 32x64 -> 2x4 after four blocks
            layers += [nn.Conv2d(cin, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2, 2))
            cin = c
        self.loc = nn.Sequential(*layers)
        cells = (LOC_SIZE[0] >> len(channels)) * (LOC_SIZE[1] >> len(channels))
        self.fc = nn.Sequential(nn.Linear(cin * cells, 128), nn.ReLU(inplace=True))
        self.points = nn.Linear(128, 2 * num_points)
        ctrl = identity_points(num_points)
        nn.init.zeros_(self.points.weight)
        with torch.no_grad():
            self.points.bias.copy_(ctrl.reshape(-1).float())
        self.register_buffer("ctrl", ctrl.float(), persistent=False)
        self.register_buffer("inv_system", _inverse_system(ctrl).float(), persistent=False)
        self.ctrl: torch.Tensor
        self.inv_system: torch.Tensor

    def control_points(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, K, 2)`` source control points predicted from ``(N, C, H, W)`` images."""
        small = F.interpolate(x, size=LOC_SIZE, mode="bilinear", align_corners=False)
        f = self.fc(self.loc(small).flatten(1))
        return self.points(f).view(x.shape[0], -1, 2)

    def grid(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, H, W, 2)`` sampling grid for ``grid_sample`` (``align_corners=False``)."""
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        ys = (torch.arange(h, dtype=x.dtype, device=x.device) * 2 + 1) / h - 1
        xs = (torch.arange(w, dtype=x.dtype, device=x.device) * 2 + 1) / w - 1
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        base = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (H * W, 2) as (x, y)
        offsets = self.control_points(x).float() - self.ctrl  # (N, K, 2), zero at the identity
        with torch.autocast(device_type=x.device.type, enabled=False):  # pixel positions need fp32
            padded = torch.cat([offsets, offsets.new_zeros(n, 3, 2)], dim=1)  # (N, K + 3, 2)
            coef = torch.matmul(self.inv_system, padded)  # (N, K + 3, 2)
            warp = torch.matmul(tps_kernel(base.float(), self.ctrl), coef)  # (N, H * W, 2)
            return (base + warp).to(x.dtype).view(n, h, w, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rectified ``(N, C, H, W)`` images (borders repeat the edge pixels)."""
        return F.grid_sample(x, self.grid(x), mode="bilinear", padding_mode="border", align_corners=False)
