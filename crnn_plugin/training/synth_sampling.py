"""Weighted choices for the synthetic generator (cumulative weights, one uniform draw)."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence

__all__ = ["choice_weighted", "cumulative"]


def cumulative(weights: Sequence[float]) -> list[float]:
    """Running sums of ``weights`` (negative weights count as 0); raises if all are 0."""
    out, acc = [], 0.0
    for w in weights:
        acc += max(0.0, float(w))
        out.append(acc)
    if acc <= 0:
        raise ValueError("all weights are zero")
    return out


def choice_weighted(r: random.Random, cum: Sequence[float]) -> int:
    """Index drawn with probability proportional to its weight (``cum`` from :func:`cumulative`)."""
    return min(bisect.bisect_right(cum, r.random() * cum[-1]), len(cum) - 1)
