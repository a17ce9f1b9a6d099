"""Weighted choices for the synthetic generator (cumulative weights, one uniform draw)."""

from __future__ import annotations

import bisect
import operator
import random
from collections.abc import Sequence

import numpy as np

__all__ = ["choice_weighted", "cumulative", "sample_rngs", "SAMPLES"]


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


#: Length of an index-addressable synthetic source ("infinite": sample i for any i below it).
SAMPLES = 10**9


def sample_rngs(seed: int, index: object) -> tuple[np.random.Generator, random.Random]:
    """The two random streams of sample ``index`` (negative counts from the end): a pure function
    of ``(seed, index)``, so a sample is the same in any process. Raises ``IndexError`` outside."""
    i = operator.index(index)  # type: ignore[arg-type]
    if i < 0:
        i += SAMPLES
    if not 0 <= i < SAMPLES:
        raise IndexError(index)
    rng = np.random.default_rng([seed & 0xFFFFFFFFFFFF, i])
    return rng, random.Random(int(rng.integers(1 << 62)))
