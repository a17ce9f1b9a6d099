"""Training configuration: the ``SourceConfig`` / ``TrainConfig`` dataclasses (read from JSON or
TOML, checked before a run starts) and the warmup + cosine learning-rate schedule ``lr_at``."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import PRESETS, CRNNConfig
from ..vocab import VOCABS

__all__ = ["SourceConfig", "TrainConfig", "lr_at"]


@dataclass
class SourceConfig:
    """A training source. ``kind="synth"`` renders words; ``kind="synth_doc"`` renders small print
    of scanned forms and receipts (:mod:`.synth_document`); ``kind="folder"`` reads a dataset
    (``labels.tsv`` folder, docTR folder or LMDB). ``case_sensitive=False`` marks case-folded
    labels, trained with upper/lower-case probabilities summed so they never teach a case.
    For synth and synth_doc, ``font_dirs`` replaces the system font folders and ``words_file`` (one
    word a line, most frequent first) replaces the wordfreq English list. ``shrink_height`` ([lo, hi] pixels)
    shrinks a share ``shrink_p`` of a folder's crops to that height before the model's resize."""

    kind: str = "synth"
    path: str | None = None
    labels: str | None = None
    weight: float = 1.0
    augment: bool = True
    case_sensitive: bool = True
    font_dirs: list[str] | None = None
    words_file: str | None = None
    # Real crops larger than the text users scan (e.g. 29 px words of 150 dpi scans for 8-14 px
    # forms): with probability shrink_p, shrink the crop to a height in [lo, hi] px first.
    shrink_height: list[int] | None = None
    shrink_p: float = 0.7
    max_len: int = 80  # longer labels are skipped (text lines run to ~70 characters)
    # synth / synth_doc: SynthConfig / SynthDocConfig fields to change, e.g. {"p_line": 0, "p_arc": 0}
    synth_options: dict[str, Any] | None = None


@dataclass
class TrainConfig:
    """Everything a run needs; stored inside every checkpoint."""

    arch: str = "crnn_small"
    vocab: str | None = None
    # CRNNConfig keys that replace the preset's, e.g. {"rectifier": "tps", "input_height": 48}
    model: dict[str, Any] = field(default_factory=dict)
    sources: list[SourceConfig] = field(default_factory=lambda: [SourceConfig()])
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 500
    max_steps: int = 100_000
    min_lr_ratio: float = 0.05
    cycle_start: int = 0  # step where the warmup + cosine cycle begins (a second cycle resumes here)
    grad_clip: float = 5.0
    doctr_fraction: float = 0.2
    max_width: int = 400
    width_jitter: float = 0.15
    # share of variable-width samples squeezed horizontally by a factor in squeeze_range (condensed
    # glyphs, few frames per character: what slanted boxes and tall fonts give at 32 px)
    squeeze_p: float = 0.0
    squeeze_range: tuple[float, float] = (0.35, 0.7)
    seed: int = 0
    workers: int = 1
    threads: int = 1
    out_dir: str = "runs/crnn_small"
    init_from: str | None = None
    checkpoint_every_s: float = 300.0
    val_every_s: float = 900.0
    val_dirs: list[str] = field(default_factory=list)
    val_limit: int | None = 1000
    log_every: int = 50
    amp: bool = True
    stop_after_s: float | None = None
    # Time-boxed cycle: the cosine also advances with the seconds since this run started and ends
    # after cycle_seconds (whichever of steps and seconds is further), so a run of unknown
    # throughput (one GPU call) still finishes its cycle at the low learning rate.
    cycle_seconds: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown training config keys: {unknown}")
        data = dict(data)
        if "sources" in data:
            fields = {f.name for f in dataclasses.fields(SourceConfig)}
            for i, src in enumerate(data["sources"]):
                if not isinstance(src, dict):
                    raise ValueError(f"sources[{i}]: expected an object, got {type(src).__name__}")
                if set(src) - fields:
                    raise ValueError(f"sources[{i}]: unknown keys {sorted(set(src) - fields)}")
            data["sources"] = [SourceConfig(**s) for s in data["sources"]]
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a JSON or TOML config file."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            import tomllib

            return cls.from_dict(tomllib.loads(text))
        return cls.from_dict(json.loads(text))

    def check(self) -> None:
        """Fail now, not minutes into a run: the model config builds and every folder exists.

        Relative paths are resolved against the current directory.
        """
        self.model_config()
        for key in ("out_dir",):
            if not isinstance(getattr(self, key), str):
                raise ValueError(
                    f"{key} must be a string, got {getattr(self, key)!r} (--set '{key}=\"...\"')"
                )
        lo, hi = self.squeeze_range
        if not 0.0 <= self.squeeze_p <= 1.0 or not 0.0 < lo <= hi <= 1.0:
            raise ValueError(
                "squeeze_p must be in [0, 1] and squeeze_range within (0, 1], "
                f"got {self.squeeze_p}, {self.squeeze_range}"
            )
        if not isinstance(self.val_dirs, list) or not all(isinstance(d, str) for d in self.val_dirs):
            raise ValueError(f"val_dirs must be a list of folders, got {self.val_dirs!r}")
        for src in self.sources:
            synthetic = src.kind in ("synth", "synth_doc")
            if synthetic:
                _synth_config(src)  # unknown synth_options keys fail here, not minutes in
            elif src.synth_options:
                raise ValueError(f"synth_options is for synth sources, not {src.kind!r} ({src.path})")
            if not synthetic and src.path and not Path(src.path).exists():
                raise FileNotFoundError(f"data source {src.path!r} not found (from {Path.cwd()})")
            if not synthetic and src.path and src.labels and not (Path(src.path) / src.labels).is_file():
                raise FileNotFoundError(f"labels file {src.labels!r} not found in {src.path!r}")
            if src.words_file and not Path(src.words_file).is_file():
                raise FileNotFoundError(f"words_file {src.words_file!r} not found (from {Path.cwd()})")
            for d in src.font_dirs or []:
                if not Path(d).is_dir():
                    raise FileNotFoundError(f"font_dirs entry {d!r} is not a folder (from {Path.cwd()})")
        for d in self.val_dirs:
            if not Path(d).exists():
                raise FileNotFoundError(f"val_dirs entry {d!r} not found (from {Path.cwd()})")
        if self.init_from:  # the model to start from exists and its layers fit this architecture
            from ..hub import load_config, resolve_model_dir
            from ..transfer import check_transferable
            from ..widen import check_widenable

            source, target = load_config(resolve_model_dir(self.init_from)), self.model_config()
            if source.vocab == target.vocab:  # same classes: layers may also be wider, or new
                check_widenable(source, target, name=self.init_from)
            else:
                check_transferable(source, target, name=self.init_from)

    def model_config(self) -> CRNNConfig:
        if self.arch not in PRESETS:
            raise ValueError(f"unknown arch {self.arch!r}; known: {sorted(PRESETS)}")
        base = PRESETS[self.arch]
        if not isinstance(self.model, dict):
            raise ValueError(f"model must be an object of model config keys, got {self.model!r}")
        if self.model:
            base = CRNNConfig.from_dict({**base.to_dict(), **self.model}, source="model")
        if not self.vocab:
            return base
        return dataclasses.replace(base, vocab=VOCABS.get(self.vocab, self.vocab))


def _synth_config(s: SourceConfig) -> Any:
    """The generator config of a synth / synth_doc source: defaults with ``synth_options`` applied."""
    if s.kind == "synth":
        from .synth import SynthConfig as cls
    else:
        from .synth_document import SynthDocConfig as cls  # type: ignore[assignment]
    options = dict(s.synth_options or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"{s.kind} source: unknown synth_options {unknown}")
    for k, v in options.items():  # JSON lists stand for the configs' tuples
        if isinstance(v, list):
            options[k] = tuple(v)
    return cls(**options)


def lr_at(step: int, cfg: TrainConfig, elapsed_s: float | None = None) -> float:
    """Linear warmup from ``cycle_start``, then cosine decay to ``min_lr_ratio * lr`` at ``max_steps``.

    With ``cfg.cycle_seconds`` and ``elapsed_s`` (seconds since this run started) the decay's
    progress is the larger of the step fraction and ``elapsed_s / cycle_seconds``.
    """
    step -= cfg.cycle_start
    if step < cfg.warmup_steps:
        return cfg.lr * (max(step, 0) + 1) / cfg.warmup_steps
    span = cfg.max_steps - cfg.cycle_start - cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, span)
    if cfg.cycle_seconds and elapsed_s is not None:
        progress = max(progress, elapsed_s / cfg.cycle_seconds)
    progress = min(1.0, progress)
    ratio = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.lr * ratio
