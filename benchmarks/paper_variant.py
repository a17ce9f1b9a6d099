"""Speed of the paper-size CRNN (Table 1 widths) in our default CPU path vs plain eager fp32.

    python benchmarks/paper_variant.py [--threads 2] [--repeats 5]

Forward only, random weights (speed does not depend on them), batch 1 and batch 64 at 3x32x128
and at 3x32x100 (the paper's input). "ours" is the Recognizer's path: bf16 autocast and
channels-last on CPUs with native bf16, fp32 elsewhere.
"""

from __future__ import annotations

import argparse

import torch
from bench_common import crops_per_s

from crnn_plugin import CRNN, PRESETS
from crnn_plugin.recognizer import Recognizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    print("| model | input | batch | eager fp32 crops/s | ours crops/s | speed-up |")
    print("|---|---|---|---|---|---|")
    for name in ("crnn_paper", "crnn", "crnn_small"):
        eager = CRNN(PRESETS[name]).eval()
        rec = Recognizer(CRNN(PRESETS[name]), device="cpu")
        for width in (100, 128):
            for batch in (1, 64):
                x = torch.randn(batch, 3, 32, width)
                with torch.inference_mode():
                    r_eager = crops_per_s(lambda: eager(x), batch, args.repeats)  # noqa: B023
                r_ours = crops_per_s(lambda: rec.logits(x), batch, args.repeats)  # noqa: B023
                print(
                    f"| {name} | 3x32x{width} | {batch} | {r_eager:.0f} | {r_ours:.0f} | "
                    f"{r_ours / r_eager:.2f}x |"
                )


if __name__ == "__main__":
    main()
