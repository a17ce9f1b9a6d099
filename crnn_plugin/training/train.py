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
import os
import random
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..ctc import case_folded_log_probs
from ..errors import CRNNError
from ..model import CRNN
from ..recognizer import cpu_supports_bf16, cuda_amp_dtype
from ..transfer import transfer_weights
from ..vocab import Tokenizer
from ..widen import widen_weights
from .checkpoint import _rng_state, _save_atomic, _set_rng_state
from .sources import _build_sources
from .train_config import SourceConfig, TrainConfig, lr_at

__all__ = ["SourceConfig", "TrainConfig", "train", "main", "case_folded_log_probs"]

logger = logging.getLogger("crnn_plugin.train")


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
        squeeze_p=cfg.squeeze_p,
        squeeze_range=tuple(cfg.squeeze_range),  # type: ignore[arg-type]
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
