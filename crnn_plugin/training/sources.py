"""Training sources: each ``SourceConfig`` of a run built into a ``WeightedSource`` (word or
document synthesis, or a dataset folder) for the batch stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .train_config import TrainConfig, _synth_config


def _build_sources(cfg: TrainConfig, vocab: str) -> list[Any]:
    from .datasets import open_dataset
    from .loader import WeightedSource

    out = []
    for s in cfg.sources:
        if s.weight <= 0:
            continue
        if s.kind in ("synth", "synth_doc"):
            from .fonts import find_fonts

            fonts = find_fonts(s.font_dirs) if s.font_dirs is not None else None
            words = None
            if s.words_file is not None:
                words = [w for w in Path(s.words_file).read_text(encoding="utf-8").splitlines() if w.strip()]
            if s.kind == "synth":
                from .synth import SynthWordGenerator

                gen: Any = SynthWordGenerator(
                    vocab, seed=cfg.seed, fonts=fonts, words=words, config=_synth_config(s)
                )
            else:
                from .synth_document import SynthDocumentGenerator

                gen = SynthDocumentGenerator(
                    vocab, seed=cfg.seed, fonts=fonts, words=words, config=_synth_config(s)
                )
            out.append(WeightedSource(gen, s.weight, augment=False, name=s.kind, infinite=True))
        elif s.kind == "folder":
            if not s.path:
                raise ValueError("folder source needs a path")
            ds = open_dataset(s.path, labels=s.labels, vocab=vocab, max_len=s.max_len)
            if len(ds) == 0:
                raise ValueError(f"{s.path}: no usable samples")
            shrink = None
            if s.shrink_height is not None:
                lo, hi = (int(v) for v in s.shrink_height)
                if not 4 <= lo <= hi:
                    raise ValueError(f"{s.path}: shrink_height must be [lo, hi] with 4 <= lo <= hi")
                shrink = (lo, hi)
            out.append(
                WeightedSource(
                    ds,
                    s.weight,
                    augment=s.augment,
                    case_sensitive=s.case_sensitive,
                    name=str(s.path),
                    shrink=shrink,
                    shrink_p=s.shrink_p,
                )
            )
        else:
            raise ValueError(f"unknown source kind {s.kind!r}")
    return out
