"""Average the model weights of several training checkpoints (the low-learning-rate tail of a run)
into a ``save_pretrained`` folder.

Floating-point tensors (weights and BatchNorm running statistics) are averaged; integer buffers
come from the last checkpoint. Compare the result with the last checkpoint on validation data
before shipping it.

    python scripts/average_checkpoints.py OUT_DIR CKPT [CKPT ...] [--card README.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from crnn_plugin import CRNN, CRNNConfig, save_pretrained


def average(paths: list[Path]) -> tuple[CRNN, list[int]]:
    """Model with the mean weights of ``paths``; also returns their training steps."""
    cks = sorted(
        (torch.load(p, map_location="cpu", weights_only=True) for p in paths), key=lambda c: int(c["step"])
    )
    states = [c["model"] for c in cks]
    steps = [int(c["step"]) for c in cks]
    config = cks[-1]["model_config"]
    mean = {}
    for k, last in states[-1].items():
        if last.is_floating_point():
            mean[k] = torch.stack([s[k].float() for s in states]).mean(0).to(last.dtype)
        else:
            mean[k] = last
    model = CRNN(CRNNConfig.from_dict(config))
    model.load_state_dict(mean)
    return model.eval(), steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out_dir", type=Path)
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--card", type=Path, help="model card (README.md) to write beside the weights")
    args = p.parse_args()
    try:  # bad arguments are one line, not a traceback
        model, steps = average(args.checkpoints)
        card = args.card.read_text(encoding="utf-8") if args.card else None
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        p.error(f"{type(e).__name__}: {e}")
    save_pretrained(model, args.out_dir, model_card=card)
    print(f"averaged steps {steps} -> {args.out_dir}")


if __name__ == "__main__":
    main()
