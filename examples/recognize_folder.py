"""Recognise every crop in a folder with the shipped weights and compare with its labels.

python examples/recognize_folder.py [examples/crops]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crnn_plugin import Recognizer


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", nargs="?", default=Path(__file__).resolve().parent / "crops", type=Path)
    folder = parser.parse_args(argv).folder
    if not folder.is_dir():
        parser.error(f"{folder}: not a folder")
    labels: dict[str, str] = {}
    if (folder / "labels.tsv").is_file():  # path<TAB>label, paths relative to the folder
        labels = dict(
            line.split("\t", 1) for line in (folder / "labels.tsv").read_text().splitlines() if line
        )
        paths = [folder / rel for rel in labels]
    else:
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    recognizer = Recognizer.from_pretrained()  # shipped weights, offline, CPU or CUDA
    right = 0
    for path, pred in zip(paths, recognizer(paths)):
        truth = labels.get(str(path.relative_to(folder)), "")
        right += pred.text == truth
        mark = "" if not truth else ("ok" if pred.text == truth else f"(label: {truth})")
        print(f"{path.name:14} {pred.text:12} {pred.confidence:5.2f} {mark}")
    if labels:
        print(f"{right} of {len(paths)} read exactly as labelled")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
