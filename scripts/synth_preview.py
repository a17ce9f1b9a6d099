"""Write a preview sheet of the synthetic generator: a section per mode, labels in red.

    python scripts/synth_preview.py OUT.png [--per-mode 8] [--seed 0] [--modes curved,photo]

Sections: the default mix, plain words, lines, curved text, strong perspective, the three 3D
effects, photo backgrounds and neighbouring-text clutter (see crnn_plugin/training/synth_modes.py).
"""

from __future__ import annotations

import argparse
import logging
import sys

from crnn_plugin.training.synth import SynthWordGenerator, contact_sheet
from crnn_plugin.training.synth_modes import MODES, mode_config
from crnn_plugin.vocab import VOCABS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="PNG file to write")
    ap.add_argument("--per-mode", type=int, default=8, help="samples per mode")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated modes")
    ap.add_argument("--vocab", default="english_space", choices=sorted(VOCABS))
    args = ap.parse_args(argv)
    logging.getLogger("fontTools").setLevel(logging.ERROR)

    rows = []
    for name in args.modes.split(","):
        gen = SynthWordGenerator(VOCABS[args.vocab], seed=args.seed, config=mode_config(name))
        rows.append((name, [gen[i] for i in range(args.per_mode)]))
    contact_sheet(rows, height=rows[0][1][0][0].height).save(args.out)
    print(f"wrote {args.out}: {len(rows)} modes x {args.per_mode} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
