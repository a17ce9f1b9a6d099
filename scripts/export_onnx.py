"""Write the int8 ONNX export (``model.int8.onnx``) next to a model's weights.

Calibration uses real *training* crops (never a test split): the first ``--n`` images of each
folder's ``labels.tsv``, pre-processed exactly as the Recognizer does (height 32, width-bucketed
padded batches), so the int8 ranges match what inference sees.

    python scripts/export_onnx.py weights/crnn-small-en \
        --calibration ../shared/data/iiit5k_train ../shared/data/ic15_train ../shared/data/svt_train
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from crnn_plugin import CRNNError, Recognizer
from crnn_plugin.onnx_backend import INT8_NAME, export_onnx
from crnn_plugin.preprocessing import pad_batch, width_buckets
from crnn_plugin.recognizer import WIDTH_MULTIPLE
from crnn_plugin.training.datasets import read_labels_tsv


def calibration_batches(rec: Recognizer, folders: list[Path], n: int, batch_size: int) -> list[torch.Tensor]:
    """Padded ``(B, 3, 32, W)`` batches of the first ``n`` crops of each folder."""
    tensors = [
        rec.prepare(folder / rel)
        for folder in folders
        for rel, _ in read_labels_tsv(folder / "labels.tsv")[:n]
    ]
    c = rec.config
    return [
        pad_batch([tensors[i] for i in idx], c.mean, c.std, multiple=WIDTH_MULTIPLE)
        for idx in width_buckets([t.shape[-1] for t in tensors], batch_size)
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", type=Path, help="a local model folder: the export is written into it")
    p.add_argument("--calibration", type=Path, nargs="+", required=True, help="folders with labels.tsv")
    p.add_argument("--n", type=int, default=200, help="crops per folder")
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="crops per width bucket when padding (windows are 32 crops)",
    )
    args = p.parse_args()
    if not args.model_dir.is_dir():
        p.error(f"{args.model_dir}: not a local model folder (the export is written next to its weights)")
    if args.n < 1 or args.batch_size < 1:
        p.error("--n and --batch-size must be >= 1")
    for folder in args.calibration:
        if not (folder / "labels.tsv").is_file():
            p.error(f"{folder}: no labels.tsv (calibration needs labelled training crops)")
    try:
        rec = Recognizer.from_pretrained(args.model_dir, device="cpu", backend="torch")
        batches = calibration_batches(rec, args.calibration, args.n, args.batch_size)
    except (CRNNError, OSError, ValueError) as e:
        p.error(str(e))
    total = sum(len(b) for b in batches)
    if total == 0:
        p.error("no calibration crops (empty labels.tsv files?)")
    out = export_onnx(rec.model, args.model_dir / INT8_NAME, calibration=batches)
    used = total - total % 32 if total >= 32 else total  # calibration_windows: equal windows of 32
    print(
        f"{out}: {out.stat().st_size / 2**20:.1f} MiB, calibrated on {used} of {total} crops (windows of 32)"
    )


if __name__ == "__main__":
    main()
