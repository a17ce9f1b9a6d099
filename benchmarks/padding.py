"""Padding waste of width bucketing on real crop-size distributions.

    python benchmarks/padding.py --data ../shared/data [--batch-size 64]

For each folder: the fraction of padded pixels the Recognizer's batches contain (crops resized to
height 32 keeping the aspect ratio). Default (``batch_invariant=True``, both backends): each crop
padded to a multiple of 16 px, batches of one padded width. Opt-out (``batch_invariant=False``):
width-sorted batches padded to their widest crop, exactly with ONNX Runtime, rounded up to 16 px
with PyTorch. Beside them the waste of unsorted batches and of docTR's fixed 32x128 canvas.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_common import data_folder
from PIL import Image

from crnn_plugin.preprocessing import width_buckets
from crnn_plugin.recognizer import ONNX_WIDTH_MULTIPLE, WIDTH_MULTIPLE
from crnn_plugin.training.datasets import read_labels_tsv


def widths(folder: Path) -> list[int]:
    out = []
    for rel, _ in read_labels_tsv(folder / "labels.tsv"):
        with Image.open(folder / rel) as im:
            w, h = im.size
        out.append(max(8, min(800, round(w * 32 / h))))
    return out


def waste(ws: list[int], batches: list[list[int]], multiple: int) -> float:
    real = padded = 0
    for b in batches:
        width = -(-max(ws[i] for i in b) // multiple) * multiple
        real += sum(ws[i] for i in b)
        padded += width * len(b)
    return 1 - real / padded


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=data_folder, default="../shared/data")
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    bs = args.batch_size
    cols = [
        "folder",
        "crops",
        "mean width px",
        "ours (default, one padded width per batch)",
        "sorted, to widest (opt-out, ONNX)",
        "sorted, to widest, 16 px (opt-out, PyTorch)",
        "unsorted batches",
        "docTR 32x128 (width only)",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ("iiit5k_test", "svt_test", "ic15_train"):
        folder = Path(args.data) / name
        if not (folder / "labels.tsv").is_file():
            continue
        ws = widths(folder)
        ours = waste(ws, width_buckets(ws, bs, WIDTH_MULTIPLE), WIDTH_MULTIPLE)
        sorted_onnx = waste(ws, width_buckets(ws, bs), ONNX_WIDTH_MULTIPLE)
        sorted_torch = waste(ws, width_buckets(ws, bs), WIDTH_MULTIPLE)
        plain = waste(ws, [list(range(i, min(i + bs, len(ws)))) for i in range(0, len(ws), bs)], 1)
        doctr = 1 - sum(min(w, 128) for w in ws) / (128 * len(ws))
        print(
            f"| {name} | {len(ws)} | {sum(ws) / len(ws):.0f} | {100 * ours:.1f} % "
            f"| {100 * sorted_onnx:.1f} % | {100 * sorted_torch:.1f} % "
            f"| {100 * plain:.1f} % "
            f"| {100 * doctr:.1f} % |"
        )


if __name__ == "__main__":
    main()
