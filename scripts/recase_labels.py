"""Give a case-folded line dataset (SROIE) its ink's case back, from a teacher model's readings.

    crnn-plugin evaluate ../shared/data/sroie_lines_train --model weights/crnn-small-en-v2 \\
        --predictions runs/recase/teacher.jsonl
    python scripts/recase_labels.py ../shared/data/sroie_lines_train runs/recase/teacher.jsonl \\
        --out runs/recase/sroie_lines_train_recased

writes ``OUT/labels.tsv`` (lines whose case the teacher decides: train case-sensitive) and
``OUT/labels_caseless.tsv`` (the rest, with their original labels: train caseless), and links
``OUT/source`` to FOLDER: image paths are ``source/<path in FOLDER>``, so OUT is used like any
``labels.tsv`` folder (a training config's source, the GPU kit's ``--extra``) and copies nothing.
Rules: :func:`crnn_plugin.training.recase.recase_line`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from crnn_plugin.training.datasets import read_labels_tsv
from crnn_plugin.training.recase import recase_line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="dataset folder with labels.tsv (case-folded labels)")
    ap.add_argument("predictions", type=Path, help="JSON lines of `crnn-plugin evaluate --predictions`")
    ap.add_argument("--out", type=Path, required=True, help="output folder (two labels files)")
    args = ap.parse_args(argv)

    teacher: dict[str, str] = {}
    with open(args.predictions, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            teacher[os.path.realpath(row["path"])] = row["text"]
    rows = read_labels_tsv(args.folder / "labels.tsv")
    unread = sum(os.path.realpath(args.folder / rel) not in teacher for rel, _ in rows)
    if rows and unread == len(rows):
        ap.error(
            f"{args.predictions}: no reading of an image of {args.folder} (its paths are relative to the "
            "directory evaluate ran in: run both commands from the same one)"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    link = args.out / "source"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(args.folder.resolve(), target_is_directory=True)
    cased: list[str] = []
    caseless: list[str] = []
    for rel, label in rows:
        image = os.path.realpath(args.folder / rel)
        path = f"source/{rel}"
        reading = teacher.get(image)
        new = recase_line(reading, label) if reading is not None else None
        if new is None:
            caseless.append(f"{path}\t{label}\n")
        else:
            cased.append(f"{path}\t{new}\n")
    (args.out / "labels.tsv").write_text("".join(cased), encoding="utf-8")
    (args.out / "labels_caseless.tsv").write_text("".join(caseless), encoding="utf-8")
    print(f"{args.out}: {len(cased)} lines cased, {len(caseless)} left caseless ({unread} without a reading)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
