"""The benchmark worker's reading tasks: accuracy per test set, and end-to-end crop-by-crop speed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_common import SETS, case_sensitive_labels, paused_training, read_labels, score_texts, summarize
from peer_loaders import ReadFn

logger = logging.getLogger("benchmarks.peers")


def task_accuracy(
    name: str,
    read: ReadFn,
    info: dict[str, Any],
    data: Path,
    limit: int | None,
    sets: Sequence[str],
    pause: bool,
) -> dict[str, Any]:
    """Scores per test set (see :func:`bench_common.score_texts`); ours: batched Recognizer calls.

    Each set (and, for ours, each precision) is one timed window; with ``pause`` the background
    training is stopped during it.
    """
    out: dict[str, Any] = {}
    variants: list[tuple[str, Callable[[list[Path], bool], list[str]]]] = []

    def batched(recognizer: Any) -> Callable[[list[Path], bool], list[str]]:
        return lambda paths, line: [p.text for p in recognizer(paths)]

    def one_by_one(paths: list[Path], line: bool) -> list[str]:
        return [read(p, line=line) for p in paths]

    if "_recognizer" in info:  # ours: batched calls, default backend, PyTorch and fp32
        variants.append(("", batched(info["_recognizer"])))
        if "_recognizer_torch" in info:
            variants.append(("@torch", batched(info["_recognizer_torch"])))
        variants.append(("@fp32", batched(info["_recognizer_fp32"])))
    else:
        variants.append(("", one_by_one))
    for suffix, run in variants:
        for s in sets:
            kind = SETS[s]
            rows = read_labels(data / s, limit)
            cs = case_sensitive_labels(data / s, rows) if kind == "word" else None
            with paused_training(pause, f"{name} accuracy {s}{suffix}"):
                t0 = time.perf_counter()
                texts = run([p for p, _ in rows], kind == "line")
                secs = time.perf_counter() - t0
            out[s + suffix] = {
                "kind": kind,
                **score_texts(texts, [lab for _, lab in rows], cs),
                "seconds": secs,
            }
            r = out[s + suffix]
            logger.info(
                "%s %s%s: acc36 %.4f, case-sensitive %s, line %.4f, CER %.4f (%d crops, %.1f s)",
                name,
                s,
                suffix,
                r["acc36"],
                "n/a" if r["acc_cs"] is None else f"{r['acc_cs']:.4f}",
                r["acc_line"],
                r["cer"],
                r["n"],
                secs,
            )
    return out


def task_e2e(read: ReadFn, paths: Sequence[Path], repeats: int, pause: bool, name: str) -> dict[str, Any]:
    """Files on disk -> text, crop by crop; ``repeats`` timed passes over ``paths`` (training paused)."""
    for p in paths[:10]:  # warm-up (lazy init, caches), untimed
        read(p)
    rates: list[float] = []
    with paused_training(pause, f"{name} e2e"):
        for _ in range(repeats):
            t0 = time.perf_counter()
            for p in paths:
                read(p)
            rates.append(len(paths) / (time.perf_counter() - t0))
    logger.info("%s e2e on %d crops: %s crops/s", name, len(paths), [round(r, 1) for r in rates])
    return {"n": len(paths), "crops_per_s": summarize(rates).to_dict()}
