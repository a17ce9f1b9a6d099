"""Write a training checkpoint's model as a ``save_pretrained`` folder (config + safetensors + card).

    python scripts/export_checkpoint.py /work/runs/crnn_small_en/checkpoint.pt weights/crnn-small-en \
        [--card weights/crnn-small-en/README.md]
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import torch

from crnn_plugin import CRNN, CRNNConfig, save_pretrained
from crnn_plugin.onnx_backend import INT8_NAME


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("out_dir")
    p.add_argument("--card", help="model card (README.md) to write beside the weights")
    args = p.parse_args()
    try:  # bad arguments are one line, not a traceback
        ck = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        if not isinstance(ck, dict) or "model_config" not in ck or "model" not in ck:
            p.error(f"{args.checkpoint}: not a crnn_plugin training checkpoint (no model_config / model)")
        model = CRNN(CRNNConfig.from_dict(ck["model_config"]))
        model.load_state_dict(ck["model"])
        card = Path(args.card).read_text(encoding="utf-8") if args.card else None
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as e:
        p.error(f"{e}")
    stale = Path(args.out_dir) / INT8_NAME
    save_pretrained(model.eval(), args.out_dir, model_card=card)
    if stale.exists():  # the Recognizer checks its digest and ignores it unless made from these weights
        print(f"note: {stale} is kept; re-run scripts/export_onnx.py if these are new weights")
    print(f"step {ck['step']}, {ck['seconds'] / 3600:.2f} h of training -> {args.out_dir}")


if __name__ == "__main__":
    main()
