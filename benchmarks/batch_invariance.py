"""Does a crop read the same alone and in a batch? Readings that change with the batching, and speed.

    python benchmarks/batch_invariance.py --data ../shared/data [--folder iiit5k_test] [--backend auto]

For ``batch_invariant`` True (default: one padded width per batch) and False (width-sorted batches
padded to their widest crop), every crop of the folder is read (a) alone, (b) in one call over the
whole folder and (c) in random calls of ``--call`` crops (a page's worth of words); the table gives
36-class accuracy of each and how many readings of (b) and (c) differ from (a), then crops/s of
(b) and (c) (median of ``--repeats``; stop other work first). Tall crops are read upright only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from bench_common import data_folder

from crnn_plugin import Prediction, Recognizer
from crnn_plugin.evaluate import normalize36
from crnn_plugin.training.datasets import read_labels_tsv


def read_in_calls(rec: Recognizer, paths: Sequence[Path], calls: list[list[int]]) -> list[Prediction]:
    out: list[Prediction | None] = [None] * len(paths)
    for call in calls:
        for i, p in zip(call, rec([paths[i] for i in call])):
            out[i] = p
    return [p for p in out if p is not None]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=data_folder, default="../shared/data")
    p.add_argument("--folder", default="iiit5k_test")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    p.add_argument("--call", type=int, default=32, help="crops per call in (c)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    root = args.data / args.folder
    rows = read_labels_tsv(root / "labels.tsv")
    paths = [root / rel for rel, _ in rows]
    order = list(range(len(paths)))
    random.Random(0).shuffle(order)
    calls = [order[k : k + args.call] for k in range(0, len(order), args.call)]

    def acc(preds: Sequence[Prediction]) -> float:
        return (
            100 * sum(normalize36(q.text) == normalize36(lab) for q, (_, lab) in zip(preds, rows)) / len(rows)
        )

    def rate(fn: object) -> float:
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - t0)
        return len(paths) / statistics.median(times)

    print(
        "`python benchmarks/batch_invariance.py "
        f"--folder {args.folder} --backend {args.backend} --call {args.call}`\n"
    )
    print(
        "| batch_invariant | backend | accuracy alone / one call / calls of "
        f"{args.call} | readings != alone: one call / calls | crops/s: one call / calls of {args.call} |"
    )
    print("|---|---|---|---|---|")
    for invariant in (True, False):
        rec = Recognizer.from_pretrained(backend=args.backend, batch_invariant=invariant, rotate_tall=False)
        alone = [rec([q])[0] for q in paths]
        whole = rec(paths)
        parts = read_in_calls(rec, paths, calls)
        diff_whole = sum(a.text != b.text for a, b in zip(alone, whole))
        diff_parts = sum(a.text != b.text for a, b in zip(alone, parts))
        r_whole = rate(lambda rec=rec: rec(paths))
        r_parts = rate(lambda rec=rec: read_in_calls(rec, paths, calls))
        print(
            f"| {invariant} | {rec.backend} | {acc(alone):.2f} / {acc(whole):.2f} / {acc(parts):.2f} "
            f"| {diff_whole} / {diff_parts} of {len(paths)} | {r_whole:.0f} / {r_parts:.0f} |"
        )


if __name__ == "__main__":
    main()
