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

from crnn_plugin import Recognizer
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
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("model_dir", type=Path)
    p.add_argument("--calibration", type=Path, nargs="+", required=True, help="folders with labels.tsv")
    p.add_argument("--n", type=int, default=200, help="crops per folder")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    rec = Recognizer.from_pretrained(args.model_dir, device="cpu", backend="torch")
    batches = calibration_batches(rec, args.calibration, args.n, args.batch_size)
    out = export_onnx(rec.model, args.model_dir / INT8_NAME, calibration=batches)
    print(f"{out}: {out.stat().st_size / 2**20:.1f} MiB, calibrated on {sum(len(b) for b in batches)} crops")


if __name__ == "__main__":
    main()
