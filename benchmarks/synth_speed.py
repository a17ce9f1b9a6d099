"""Throughput of the synthetic word generator per mode, on one CPU core, as a markdown table.

    python benchmarks/synth_speed.py [--n 300] [--out benchmarks/synth_speed.md]

The process is pinned to one core. ``img/s (CPU)`` counts the process's own CPU time, so a
background job sharing the machine slows the wall clock but not this figure; ``img/s (wall)``
is what a lone data-loader worker would see on this machine as it was. Fonts, font sizes and
the photo textures are warmed up before timing (a training worker keeps them all in memory).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

from crnn_plugin.training import synth_photos
from crnn_plugin.training.fonts import find_fonts
from crnn_plugin.training.synth import SynthWordGenerator
from crnn_plugin.training.synth_modes import MODES, mode_config
from crnn_plugin.vocab import VOCABS

_HEADER = "| mode | img/s (CPU) | img/s (wall) | ms/img (CPU) | mean width (px) |\n|---|---:|---:|---:|---:|"


def _pin_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def _warm_photos(dirs: tuple[str, ...]) -> str:
    paths = synth_photos.find_photos(dirs)
    t = time.perf_counter()
    for p in paths:
        synth_photos._load(p)
    return f"{len(paths)} photos, loaded in {time.perf_counter() - t:.1f} s" if paths else "no photos"


def _time_mode(name: str, fonts: list, n: int, seed: int) -> tuple[float, float, float]:
    gen = SynthWordGenerator(VOCABS["english_space"], seed=seed, fonts=fonts, config=mode_config(name))
    for i in range(40):  # font files and sizes of a first batch
        gen[i]
    widths = 0
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(n):
        widths += gen[10_000 + i][0].width
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return n / cpu, n / wall, widths / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="samples timed per mode")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated modes")
    ap.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = ap.parse_args(argv)
    logging.getLogger("fontTools").setLevel(logging.ERROR)

    pinned = _pin_one_core()
    fonts = find_fonts()
    photos = _warm_photos(mode_config("default").photo_dirs)
    rows = []
    for name in args.modes.split(","):
        cpu_rate, wall_rate, width = _time_mode(name, fonts, args.n, args.seed)
        rows.append(f"| {name} | {cpu_rate:.0f} | {wall_rate:.0f} | {1000 / cpu_rate:.1f} | {width:.0f} |")
        print(rows[-1] if len(rows) > 1 else f"{_HEADER}\n{rows[-1]}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu = platform.processor() or platform.machine()
    notes = (
        f"{len(fonts)} fonts, {photos}; {pinned}; load average {load:.1f} "
        f"({os.cpu_count()} CPUs, {cpu}, Python {platform.python_version()})"
    )
    print(f"\n{notes}")
    if args.out:
        cmd = "python benchmarks/synth_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
        args.out.write_text(
            "# Synthetic generator throughput\n\n"
            f"`{cmd.strip()}`: {args.n} samples per mode after a warm-up, one core, vocab `english_space`.\n"
            "`default` is the training mix; the other modes force one scene family on (or, for `words`,\n"
            "all of them off); see `crnn_plugin/training/synth_modes.py`.\n\n"
            f"{_HEADER}\n" + "\n".join(rows) + f"\n\n{notes}\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
