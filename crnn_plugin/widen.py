"""Warm-starting a wider CRNN (more conv channels, a larger LSTM) from a narrower one of the same vocabulary.

Every trained tensor goes into the leading slice of the wider one (LSTM gates and the two
directions are mapped block by block); the new channels and hidden units keep their fresh
initialisation, and the weights *from* them into the old units are zeroed, so the wider model
computes exactly the narrow one's function at step 0 (in eval mode) while gradients reach the new
parts through those zeroed weights. Tensors the source lacks (a rectifier) keep their own
initialisation; the input height and the rectifier may differ, the vocabulary may not.
"""

from __future__ import annotations

import re

import torch

from .config import CRNNConfig
from .model import CRNN

__all__ = ["widen_weights", "check_widenable"]

_LSTM = re.compile(r"rnn\.(weight|bias)_(ih|hh)_l(\d+)(_reverse)?")


def check_widenable(source: CRNNConfig, target: CRNNConfig, *, name: str = "init_from") -> None:
    """Raise ``ValueError`` unless :func:`widen_weights` can start ``target`` from ``source``."""
    for key in ("vocab", "in_channels", "batchnorm", "num_lstm_layers"):
        if getattr(source, key) != getattr(target, key):
            raise ValueError(f"{name}: {key} differs from the model to train's: not widenable")
    pairs = [*zip(source.conv_channels, target.conv_channels), (source.hidden_size, target.hidden_size)]
    if any(a > b for a, b in pairs):
        raise ValueError(f"{name}: the model to train is narrower somewhere: not widenable")


def _index(old: int, new: int, blocks: int) -> torch.Tensor:
    """Indices of ``old`` entries (``blocks`` blocks of ``old // blocks``) in the leading slices of
    ``blocks`` blocks of ``new // blocks``: LSTM gates, or the two directions of a BiLSTM's output."""
    o, n = old // blocks, new // blocks
    return torch.cat([torch.arange(o) + b * n for b in range(blocks)])


def _in_blocks(key: str, layer: int | None) -> int:
    """Input blocks of a tensor's second axis: 2 (forward, backward) when it reads a BiLSTM."""
    return 2 if key == "classifier.weight" or (layer is not None and layer > 0) else 1


def widen_weights(source: CRNN, target: CRNN) -> list[str]:
    """Copy ``source`` into the leading slices of the (equal or wider) ``target``; return the
    names of ``target``'s tensors that kept their fresh initialisation (absent from ``source``)."""
    check_widenable(source.config, target.config, name="source")
    src, dst = source.state_dict(), target.state_dict()
    dropped = sorted(set(src) - set(dst))
    if dropped:  # e.g. a trained rectifier the target has no place for
        raise ValueError(f"target has no place for source tensors {dropped[:3]} ({len(dropped)} in all)")
    fresh = []
    state = {}
    with torch.no_grad():
        for key, new in dst.items():
            if key not in src:
                fresh.append(key)
                state[key] = new
                continue
            old, out = src[key], new.clone()
            if old.shape == new.shape:  # num_batches_tracked, unwidened layers
                state[key] = old.clone()
                continue
            m = _LSTM.fullmatch(key)
            layer = int(m.group(3)) if m else None
            rows = _index(old.shape[0], new.shape[0], 4 if m else 1)  # LSTM: gates i, f, g, o
            if old.dim() == 1:
                out[rows] = old
            else:
                blocks = 1 if m and m.group(2) == "hh" else _in_blocks(key, layer)
                cols = _index(old.shape[1], new.shape[1], blocks)
                block = out[rows]
                block[:, : new.shape[1]] = 0  # nothing flows from new units into old ones
                block[:, cols] = old
                out[rows] = block
            state[key] = out
    target.load_state_dict(state)
    return fresh
