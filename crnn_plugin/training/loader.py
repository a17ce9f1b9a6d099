"""The training batch stream: synthetic and real sources mixed by weight, deterministic per step.

Work is grouped in *super-batches* of ``pool`` batches: their samples are sorted by width before
being split into batches, so padding stays small. Super-batch ``g`` depends only on
``(seed, rank, g)``, which makes a resumed run see exactly the batches it would have seen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from ..errors import ImageError
from ..preprocessing import pad_batch, to_tensor
from .augment import augment_real, layout_doctr, layout_variable, shrink_to_height

__all__ = ["Batch", "WeightedSource", "BatchStream"]

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    """A padded training batch: images ``(B, 3, H, W)``, labels, and case-insensitive flags."""

    images: torch.Tensor
    labels: list[str]
    case_insensitive: list[bool]

    def pin_memory(self) -> Batch:
        """Called by the DataLoader (``pin_memory=True``): page-locked images copy asynchronously."""
        return Batch(self.images.pin_memory(), self.labels, self.case_insensitive)


@dataclass
class WeightedSource:
    """One data source: a sequence of ``(PIL image, label)`` and its sampling weight."""

    data: Sequence[tuple[Image.Image, str]]
    weight: float
    augment: bool = False
    case_sensitive: bool = True
    name: str = ""
    infinite: bool = False  # a generator indexed by sample number (synthetic data)
    shrink: tuple[int, int] | None = None  # shrink crops to this height range (px) first ...
    shrink_p: float = 0.0  # ... with this probability (scans of big type -> small form text)


class BatchStream(IterableDataset):  # type: ignore[type-arg]
    """Yields lists of :class:`Batch` (one super-batch at a time), forever."""

    def __init__(
        self,
        sources: Sequence[WeightedSource],
        *,
        batch_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        seed: int = 0,
        rank: int = 0,
        start_group: int = 0,
        pool: int = 4,
        doctr_fraction: float = 0.2,
        max_width: int = 400,
        width_jitter: float = 0.15,
        height: int = 32,
        squeeze_p: float = 0.0,
        squeeze_range: tuple[float, float] = (0.35, 0.7),
    ) -> None:
        if not sources:
            raise ValueError("no data sources")
        w = np.array([s.weight for s in sources], dtype=np.float64)
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("source weights must be >= 0 and not all 0")
        self.sources = list(sources)
        self.p = w / w.sum()
        self.batch_size, self.mean, self.std = batch_size, tuple(mean), tuple(std)
        self.seed, self.rank, self.start_group, self.pool = seed, rank, start_group, pool
        self.doctr_fraction, self.max_width, self.width_jitter = doctr_fraction, max_width, width_jitter
        self.height = height  # the model's input height; docTR's layout keeps its 1:4 box
        self.squeeze_p, self.squeeze_range = squeeze_p, squeeze_range

    def group(self, g: int) -> list[Batch]:
        """Super-batch ``g``: ``pool`` batches of similar-width samples (deterministic)."""
        rng = np.random.default_rng([self.seed, self.rank, g])
        n = self.batch_size * self.pool
        samples: list[tuple[torch.Tensor, str, bool]] = []
        picks = rng.choice(len(self.sources), size=n, p=self.p)
        for j, s_idx in enumerate(picks):
            src = self.sources[s_idx]
            for _attempt in range(5):
                if src.infinite:
                    idx = ((g * n + j) * 8 + _attempt) % len(src.data)
                else:
                    idx = int(rng.integers(len(src.data)))
                try:
                    img, label = src.data[idx]
                except ImageError as e:  # a broken file in a real dataset must not stop training
                    logger.warning("%s: %s", src.name, e)
                    continue
                break
            else:
                continue
            if src.augment:
                img = augment_real(img, rng)
            if src.shrink is not None and rng.random() < src.shrink_p:
                img = shrink_to_height(img, rng, *src.shrink)
            if " " not in label and rng.random() < self.doctr_fraction:  # docTR reads words, not lines
                img = layout_doctr(img, height=self.height, width=4 * self.height)
            else:
                squeeze = 1.0
                if self.squeeze_p > 0 and rng.random() < self.squeeze_p:  # no draw when off: same stream
                    squeeze = float(rng.uniform(*self.squeeze_range))
                img = layout_variable(
                    img,
                    rng,
                    height=self.height,
                    max_width=self.max_width,
                    width_jitter=self.width_jitter,
                    scale=squeeze,
                )
            samples.append((to_tensor(img, self.mean, self.std), label, not src.case_sensitive))
        samples.sort(key=lambda s: s[0].shape[-1])
        batches = []
        for k in range(0, len(samples), self.batch_size):
            chunk = samples[k : k + self.batch_size]
            batches.append(
                Batch(
                    pad_batch([c[0] for c in chunk], self.mean, self.std),
                    [c[1] for c in chunk],
                    [c[2] for c in chunk],
                )
            )
        order = rng.permutation(len(batches))
        return [batches[i] for i in order]

    def __iter__(self) -> Iterator[list[Batch]]:
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        torch.set_num_threads(1)
        g = self.start_group + wid
        while True:
            yield self.group(g)
            g += nw
