"""Recognise every crop in a folder with the shipped weights and compare with its labels.

python examples/recognize_folder.py [examples/crops]
"""

from __future__ import annotations

import sys
from pathlib import Path

from crnn_plugin import Recognizer


def main(argv: list[str]) -> None:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent / "crops"
    labels = {}
    if (folder / "labels.tsv").is_file():
        labels = dict(line.split("\t", 1) for line in (folder / "labels.tsv").read_text().splitlines())
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    recognizer = Recognizer.from_pretrained()  # shipped weights, offline, CPU or CUDA
    for path, pred in zip(paths, recognizer(paths)):
        truth = labels.get(path.name, "")
        mark = "" if not truth else ("ok" if pred.text == truth else f"(label: {truth})")
        print(f"{path.name:14} {pred.text:12} {pred.confidence:5.2f} {mark}")


if __name__ == "__main__":
    main(sys.argv[1:])
