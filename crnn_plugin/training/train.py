"""Training: ``python -m crnn_plugin.train CONFIG`` or ``crnn-plugin train CONFIG``.

One loop (bf16/fp16 autocast on GPUs and bf16-capable CPUs, gradient clipping, warmup + cosine
learning rate), atomic resumable checkpoints every few minutes, periodic validation, a CSV log,
DDP through ``torchrun``, and the final model written with ``save_pretrained``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import logging
import math
import os
import random
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..config import PRESETS, CRNNConfig
from ..ctc import case_folded_log_probs
from ..errors import CRNNError
from ..model import CRNN
from ..recognizer import cpu_supports_bf16, cuda_amp_dtype
from ..transfer import transfer_weights
from ..vocab import VOCABS, Tokenizer
from ..widen import widen_weights

__all__ = ["SourceConfig", "TrainConfig", "train", "main", "case_folded_log_probs"]

logger = logging.getLogger("crnn_plugin.train")


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


def batch_loss(
    logits: torch.Tensor, labels: Sequence[str], case_insensitive: Sequence[bool], tokenizer: Tokenizer
) -> torch.Tensor:
    """Mean CTC loss (per target char, like ``F.ctc_loss``'s ``"mean"``) of ``(N, T, C)`` logits."""
    lp = logits.float().log_softmax(-1)
    if any(case_insensitive):
        mask = torch.tensor(case_insensitive, device=lp.device).view(-1, 1, 1)
        lp = torch.where(mask, case_folded_log_probs(lp, tokenizer.vocab), lp)
        labels = [lab.lower() if ci else lab for lab, ci in zip(labels, case_insensitive)]
    targets, lengths = tokenizer.encode_batch(labels)
    n, t = lp.shape[:2]
    return F.ctc_loss(
        lp.transpose(0, 1),
        targets.to(lp.device),
        torch.full((n,), t, dtype=torch.long),
        lengths,
        blank=tokenizer.blank,
        reduction="mean",
        zero_infinity=True,
    )


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


def _save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    # torch.load(map_location="cuda") moves these ByteTensors to the GPU; the setters want them on the CPU
    torch.set_rng_state(state["torch"].cpu())
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def validate(model: CRNN, cfg: TrainConfig, device: torch.device) -> dict[str, float]:
    """36-class and case-sensitive accuracy on ``cfg.val_dirs`` (first ``val_limit`` crops each)."""
    from ..evaluate import evaluate_folder
    from ..recognizer import Recognizer

    was_training = model.training
    rec = Recognizer(model, device=device, batch_size=64)
    out: dict[str, float] = {}
    for d in cfg.val_dirs:
        if not Path(d).is_dir():
            logger.warning("validation folder %s not found; skipped", d)
            continue
        r = evaluate_folder(rec, d, limit=cfg.val_limit)
        out[f"{r.name}/acc36"] = r.acc36
        if r.acc_cs is not None:
            out[f"{r.name}/acc_cs"] = r.acc_cs
    model.train(was_training)
    return out


def train(cfg: TrainConfig, *, resume: bool = True, status: dict[str, Any] | None = None) -> Path:
    """Train (or resume) and return the folder of the final ``save_pretrained`` model.

    ``status``, when given, receives ``step`` (the last step) and ``interrupted`` (stopped by
    SIGINT/SIGTERM rather than by ``max_steps`` or ``stop_after_s``).
    """
    from torch.utils.data import DataLoader

    from ..hub import from_pretrained, save_pretrained
    from .loader import BatchStream

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    if distributed:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + rank)
    random.seed(cfg.seed + rank)

    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "checkpoint.pt"
    mcfg = cfg.model_config()
    tokenizer = Tokenizer(mcfg.vocab)
    model = CRNN(mcfg).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s, cfg) / cfg.lr)
    step, seconds_done = 0, 0.0
    if resume and ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        step, seconds_done = int(ck["step"]), float(ck.get("seconds", 0.0))
        _set_rng_state(ck["rng"])
        for g in optimizer.param_groups:  # a changed config (lr, max_steps) takes effect on resume
            g["lr"] = lr_at(step, cfg)
        scheduler.base_lrs = [cfg.lr for _ in scheduler.base_lrs]
        logger.info("resumed from %s at step %d", ckpt_path, step)
    elif cfg.init_from:
        init = from_pretrained(cfg.init_from)
        if init.vocab == mcfg.vocab:  # wider layers and a new rectifier start from the old function
            fresh = widen_weights(init, model)
            if fresh:
                logger.info("%d tensors new to %s keep their initialisation", len(fresh), cfg.init_from)
        else:  # a new vocabulary: keep every layer, map the classifier's rows by character
            new_chars = transfer_weights(init, model)
            logger.info(
                "new classifier rows for %r (vocab differs from %s)", "".join(new_chars), cfg.init_from
            )
        logger.info("initialised from %s", cfg.init_from)

    ddp_model: torch.nn.Module = model
    if distributed:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None
        )

    sources = _build_sources(cfg, mcfg.vocab)
    pool = 4
    stream = BatchStream(
        sources,
        batch_size=cfg.batch_size,
        mean=mcfg.mean,
        std=mcfg.std,
        seed=cfg.seed,
        rank=rank,
        start_group=step // pool,
        pool=pool,
        doctr_fraction=cfg.doctr_fraction,
        max_width=cfg.max_width,
        width_jitter=cfg.width_jitter,
        height=mcfg.input_height,
    )
    loader = DataLoader(
        stream,
        batch_size=None,
        num_workers=cfg.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
        prefetch_factor=2 if cfg.workers > 0 else None,
    )
    use_amp = cfg.amp and (device.type == "cuda" or cpu_supports_bf16())
    # CPUs: bf16 on AVX512-BF16 (measured 2.2x the fp32 training step rate)
    amp_dtype = cuda_amp_dtype(device) if device.type == "cuda" else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    if use_amp:
        model.to(memory_format=torch.channels_last)
    logger.info("device %s, mixed precision: %s", device, amp_dtype if use_amp else "off")

    log_path = out_dir / "train_log.csv"
    new_log = not log_path.exists()
    log_f = open(log_path, "a", newline="")  # noqa: SIM115 - closed in the finally below
    log = csv.writer(log_f)
    if new_log:
        log.writerow(["step", "hours", "loss", "lr", "crops_per_s", "metrics"])
    t_start = time.time()
    last_ckpt = last_val = time.time()
    skip = step % pool
    # run_loss stays on the device until it is logged: no per-step host sync, so the host queues
    # the next step while the GPU works. run_wait: seconds spent waiting for the data loader.
    run_loss, run_n, run_crops, run_wait, t_log = torch.zeros((), device=device), 0, 0, 0.0, time.time()

    def checkpoint() -> None:
        if rank != 0:
            return
        _save_atomic(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": step,
                "seconds": seconds_done + time.time() - t_start,
                "rng": _rng_state(),
                "train_config": dataclasses.asdict(cfg),
                "model_config": mcfg.to_dict(),
            },
            ckpt_path,
        )
        logger.info("checkpoint at step %d", step)

    stop_requested: list[int] = []

    def _graceful(signum: int, frame: object) -> None:  # checkpoint, save and exit on SIGTERM/SIGINT
        stop_requested.append(signum)

    old_handlers = {sig: signal.signal(sig, _graceful) for sig in (signal.SIGTERM, signal.SIGINT)}
    model.train()
    try:
        t_fetch = time.time()
        for group in loader:
            run_wait += time.time() - t_fetch
            for batch in group[skip:]:
                if step >= cfg.max_steps:
                    break
                x = batch.images.to(device, non_blocking=True)
                if use_amp:
                    x = x.contiguous(memory_format=torch.channels_last)
                ctx = torch.autocast(device.type, dtype=amp_dtype) if use_amp else contextlib.nullcontext()
                with ctx:
                    logits = ddp_model(x)
                loss = batch_loss(logits, batch.labels, batch.case_insensitive, tokenizer)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                if cfg.cycle_seconds:  # time-boxed cycle: the next step's rate also follows the clock
                    for g in optimizer.param_groups:
                        g["lr"] = lr_at(step, cfg, time.time() - t_start)
                run_loss += loss.detach().float()
                run_n += 1
                run_crops += x.shape[0]
                if step % cfg.log_every == 0 and rank == 0:
                    dt = time.time() - t_log
                    hours = (seconds_done + time.time() - t_start) / 3600
                    mean_loss = run_loss.item() / run_n
                    log.writerow(
                        [
                            step,
                            f"{hours:.3f}",
                            f"{mean_loss:.4f}",
                            f"{optimizer.param_groups[0]['lr']:.2e}",
                            f"{run_crops / dt:.1f}",
                            "",
                        ]
                    )
                    log_f.flush()
                    logger.info(
                        "step %d loss %.4f lr %.2e %.1f crops/s, %.0f %% waiting for data",
                        step,
                        mean_loss,
                        optimizer.param_groups[0]["lr"],
                        run_crops / dt,
                        100 * min(run_wait / max(dt, 1e-9), 1.0),
                    )
                    run_loss, run_n, run_crops, run_wait, t_log = run_loss.zero_(), 0, 0, 0.0, time.time()
                now = time.time()
                if now - last_ckpt >= cfg.checkpoint_every_s:
                    checkpoint()
                    last_ckpt = now
                if rank == 0 and cfg.val_dirs and now - last_val >= cfg.val_every_s:
                    metrics = validate(model, cfg, device)
                    hours = (seconds_done + time.time() - t_start) / 3600
                    log.writerow([step, f"{hours:.3f}", "", "", "", json.dumps(metrics)])
                    log_f.flush()
                    logger.info("validation at step %d: %s", step, metrics)
                    last_val = time.time()
                    t_log = time.time()
                if stop_requested or (cfg.stop_after_s is not None and now - t_start >= cfg.stop_after_s):
                    break
            skip = 0
            if (
                step >= cfg.max_steps
                or stop_requested
                or (cfg.stop_after_s is not None and time.time() - t_start >= cfg.stop_after_s)
            ):
                break
            t_fetch = time.time()
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        checkpoint()
        log_f.close()
    final = out_dir / "final"
    if status is not None:
        status.update(step=step, interrupted=bool(stop_requested))
    if rank == 0:
        save_pretrained(model.eval(), final)
    if distributed:
        import torch.distributed as dist

        dist.destroy_process_group()
    return final


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``crnn-plugin train CONFIG [--out-dir DIR] [--max-steps N] [--no-resume]``."""
    p = argparse.ArgumentParser(prog="crnn-plugin train", description=__doc__)
    p.add_argument("config", help="training config (.json or .toml)")
    p.add_argument("--out-dir", help="override out_dir")
    p.add_argument("--max-steps", type=int, help="override max_steps")
    p.add_argument("--stop-after", type=float, help="stop (and checkpoint) after this many seconds")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key; VALUE is JSON or a bare string: --set lr=5e-4 --set out_dir=/tmp/run",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:  # a bad config is one line naming the file and the problem, exit 2, before any work
        cfg = TrainConfig.load(args.config)
        overrides: dict[str, Any] = {}
        for kv in args.set:
            k, sep, v = kv.partition("=")
            if not sep or not k:
                raise ValueError(f"--set {kv!r}: expected KEY=VALUE")
            try:
                overrides[k] = json.loads(v)
            except json.JSONDecodeError:
                overrides[k] = v  # a bare string: --set out_dir=/tmp/run
        if args.out_dir:
            overrides["out_dir"] = args.out_dir
        if args.max_steps is not None:
            overrides["max_steps"] = args.max_steps
        if args.stop_after is not None:
            overrides["stop_after_s"] = args.stop_after
        if overrides:
            d = dataclasses.asdict(cfg)
            d.update(overrides)
            cfg = TrainConfig.from_dict(d)
        cfg.check()
    except (OSError, ValueError, TypeError, CRNNError) as e:
        print(f"crnn-plugin train: error: {args.config}: {e}", file=sys.stderr)
        return 2
    status: dict[str, Any] = {}
    final = train(cfg, resume=not args.no_resume, status=status)
    logger.info("final model saved to %s", final)
    if status.get("interrupted"):
        logger.info("interrupted at step %d: resume with the same command", status["step"])
        return 130
    return 0
