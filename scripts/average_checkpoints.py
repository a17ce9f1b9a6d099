"""Average the model weights of several training checkpoints (the low-learning-rate tail of a run)
or model folders (a "model soup": fine-tunes of one model, e.g. two consecutive stages) into a
``save_pretrained`` folder.

Floating-point tensors (weights and BatchNorm running statistics) are averaged; integer buffers
come from the last input (checkpoints are ordered by step, folders keep the command's order).
All inputs must share one architecture and vocabulary. Compare the result with each input on
validation data before shipping it.

    python scripts/average_checkpoints.py OUT_DIR CKPT [CKPT ...] [--card README.md]
    python scripts/average_checkpoints.py OUT_DIR MODEL_DIR MODEL_DIR [...]   # model folders
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from crnn_plugin import CRNN, CRNNConfig, CRNNError, save_pretrained
from crnn_plugin.hub import load_folder


def _load(path: Path) -> dict[str, Any]:
    """``{"model": state, "step": int | None, "model_config": dict}`` of a checkpoint or model folder."""
    if path.is_dir():
        model = load_folder(path)
        return {"model": model.state_dict(), "step": None, "model_config": model.config.to_dict()}
    ck = torch.load(path, map_location="cpu", weights_only=True)
    return {"model": ck["model"], "step": int(ck["step"]), "model_config": ck["model_config"]}


def average(paths: list[Path]) -> tuple[CRNN, list[int | None]]:
    """Model with the mean weights of ``paths``; also returns their training steps (None: a folder)."""
    cks = [_load(p) for p in paths]
    if all(c["step"] is not None for c in cks):
        cks.sort(key=lambda c: int(c["step"]))
    configs = {json.dumps(c["model_config"], sort_keys=True) for c in cks}
    if len(configs) > 1:
        raise ValueError("the inputs have different model configs (architecture or vocabulary)")
    states = [c["model"] for c in cks]
    steps = [c["step"] for c in cks]
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
    p.add_argument("checkpoints", type=Path, nargs="+", help="training checkpoints (.pt) or model folders")
    p.add_argument("--card", type=Path, help="model card (README.md) to write beside the weights")
    args = p.parse_args()
    try:  # bad arguments are one line, not a traceback
        model, steps = average(args.checkpoints)
        card = args.card.read_text(encoding="utf-8") if args.card else None
    except (OSError, RuntimeError, ValueError, KeyError, CRNNError) as e:
        p.error(f"{type(e).__name__}: {e}")
    save_pretrained(model, args.out_dir, model_card=card)
    print(f"averaged steps {steps} -> {args.out_dir}")


if __name__ == "__main__":
    main()
