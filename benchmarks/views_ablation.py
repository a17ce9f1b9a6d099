"""Which views of a crop to read: the stretched view's ratio and confidence gate, and the
deskewed view, measured.

For each ``--ratios`` x ``--below`` pair (stretched view only), once without the second pass,
once with the default views (stretched and deskewed) and once more with the character language
model on top (the Recognizer's default; every other row has ``lm_weight=0``), the shipped
Recognizer (int8 CPU default unless ``--model``/``--backend``) reads every crop of the sets;
prints 36-class accuracy per set (lexicon-free, the ``crnn-plugin evaluate`` scoring) and the
arrays of the second pass per crop. Also the accuracy by frames per character (crop width at
32 px / 4 over the label's length) without the second pass and with the defaults.

    python benchmarks/views_ablation.py --data ../shared/data [--ratios 2,3,4] [--below 0.5,0.9,1.01]

The ratio and gate are module constants (``crnn_plugin.views``); this script sets them for each
row. It reads the validation sets only: the choice made from it is checked by the held-out
benchmarks, not by these sets.
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Callable, Sequence

import numpy as np
from bench_common import data_folder

import crnn_plugin.recognizer as recognizer_module
import crnn_plugin.recognizer_prepare as prepare_module
import crnn_plugin.views as views
from crnn_plugin import Recognizer
from crnn_plugin.ctc import Decoded
from crnn_plugin.evaluate import normalize36, read_labelled
from crnn_plugin.lm_rescore import LM_WEIGHT
from crnn_plugin.preprocessing import load_image

SETS = ("iiit5k_test", "svt_test", "svtp_test", "sroie_lines_val")
FRAME_BINS = ("< 1", "1-2", "2-3", "3-4", ">= 4")


def _counting(read: Callable[[list[np.ndarray]], list[Decoded]], counter: list[int]):  # type: ignore[no-untyped-def]
    """``read`` that also counts the arrays of the second pass (stretched and deskewed views)."""

    def wrapped(arrays: list[np.ndarray]) -> list[Decoded]:
        counter[0] += 1
        if counter[0] % 2 == 0:  # choose_views reads twice per call: all views, then the unsure
            counter[1] += len(arrays)
        return read(arrays)

    return wrapped


def run(rec: Recognizer, data: dict[str, tuple[list, list[str]]]) -> tuple[dict[str, list[str]], int]:
    """Readings per set and how many arrays the second pass read."""
    counter = [0, 0]
    original = views.choose_views

    def choose(v: Sequence[Sequence[np.ndarray]], read: Callable[[list[np.ndarray]], list[Decoded]]):  # type: ignore[no-untyped-def]
        counter[0] = 0
        return original(v, _counting(read, counter))

    recognizer_module.choose_views = choose  # type: ignore[assignment]
    try:
        out = {name: [p.text for p in rec(inputs)] for name, (inputs, _) in data.items()}
    finally:
        recognizer_module.choose_views = original
    return out, counter[1]


def acc(texts: list[str], labels: list[str]) -> float:
    return (
        100 * sum(normalize36(t) == normalize36(lab) for t, lab in zip(texts, labels)) / max(len(labels), 1)
    )


def by_frames(texts: list[str], labels: list[str], widths: list[int]) -> dict[str, tuple[int, float]]:
    """36-class accuracy by frames per character (< 1, 1-2, 2-3, 3-4, >= 4)."""
    bins: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for t, lab, w in zip(texts, labels, widths):
        fpc = (w / 4) / max(1, len(normalize36(lab)))
        key = "< 1" if fpc < 1 else "1-2" if fpc < 2 else "2-3" if fpc < 3 else "3-4" if fpc < 4 else ">= 4"
        bins[key][0] += normalize36(t) == normalize36(lab)
        bins[key][1] += 1
    return {k: (bins[k][1], 100 * bins[k][0] / bins[k][1]) for k in FRAME_BINS if bins[k][1]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=data_folder, required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--backend", default="auto")
    p.add_argument("--ratios", default="2,3,4")
    p.add_argument("--below", default="0.5,0.9,1.01", help="confidence gates (1.01: every narrow crop)")
    p.add_argument("--sets", default=",".join(SETS))
    args = p.parse_args()
    data: dict[str, tuple[list, list[str]]] = {}
    widths: dict[str, list[int]] = {}
    for name in args.sets.split(","):
        d = read_labelled(args.data / name)
        imgs = [load_image(x) for x in d.inputs]
        data[name] = (imgs, list(d.labels))
        widths[name] = [round(im.width * 32 / im.height) for im in imgs]
    total = sum(len(v[1]) for v in data.values())
    print(f"{total} crops: " + ", ".join(f"{k} {len(v[1])}" for k, v in data.items()))
    print("\n| second pass | " + " | ".join(data) + " | arrays re-read / crops | s |")
    print("|---|" + "---|" * (len(data) + 2))
    default = (views.STRETCH_RATIO, views.STRETCH_BELOW)
    rows: list[tuple[float | None, float | None, bool, bool]] = [(None, None, False, False)]
    rows += [
        (float(r), float(b), False, False) for r in args.ratios.split(",") for b in args.below.split(",")
    ]
    rows += [(*default, True, False), (*default, True, True)]
    readings: dict[str, dict[str, list[str]]] = {}
    for ratio, below, deskew, lm in rows:
        rec = Recognizer.from_pretrained(
            args.model,
            backend=args.backend,
            stretch_narrow=ratio is not None,
            deskew_narrow=deskew,
            lm_weight=LM_WEIGHT if lm else 0.0,
        )
        if ratio is not None and below is not None:
            prepare_module.STRETCH_RATIO, views.STRETCH_BELOW = ratio, below
        t0 = time.perf_counter()
        texts, stretched = run(rec, data)
        dt = time.perf_counter() - t0
        prepare_module.STRETCH_RATIO, views.STRETCH_BELOW = default
        label = "off (`--no-stretch`)" if ratio is None else f"stretched {ratio:g}:1, confidence < {below:g}"
        if deskew:
            label = f"{label} + deskewed"
        if lm:
            label = f"**{label} + language model (default)**"
            readings["default"] = texts
        if ratio is None:
            readings["off"] = texts
        accs = " | ".join(f"{acc(texts[k], data[k][1]):.1f}" for k in data)
        print(f"| {label} | {accs} | {100 * stretched / total:.1f} % | {dt:.0f} |", flush=True)
    if "default" in readings:
        print("\nBy frames per character (width at 32 px / 4 over the label's 36-class length):\n")
        print("| set | view | " + " | ".join(FRAME_BINS) + " |")
        print("|---|---|---|---|---|---|---|")
        for k in data:
            for which in ("off", "default"):
                b = by_frames(readings[which][k], data[k][1], widths[k])
                cells = [
                    f"{b[x][1]:.1f} ({b[x][0]})" if x in b else "-"
                    for x in ["< 1", "1-2", "2-3", "3-4", ">= 4"]
                ]
                print(f"| {k} | {which} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
