"""Warm-starting a CRNN for another vocabulary: every layer is kept, classifier rows follow characters."""

from __future__ import annotations

import dataclasses

import torch

from .config import CRNNConfig
from .model import CRNN

__all__ = ["transfer_weights", "with_vocab", "new_rows", "check_transferable"]


def check_transferable(source: CRNNConfig, target: CRNNConfig, *, name: str = "init_from") -> None:
    """Raise ``ValueError`` unless :func:`transfer_weights` can copy a ``source`` model into a
    ``target`` one, from the configs alone (every layer but the classifier has the same shape when
    these keys agree). For checking a training config's ``init_from`` before any work."""
    for key in ("in_channels", "conv_channels", "batchnorm", "hidden_size", "num_lstm_layers"):
        a, b = getattr(source, key), getattr(target, key)
        if a != b:
            raise ValueError(f"{name} has {key}={a!r}, the model to train {key}={b!r}: not transferable")


def transfer_weights(source: CRNN, target: CRNN) -> list[str]:
    """Copy ``source``'s weights into ``target`` (same architecture, any vocabulary).

    Convolutions and LSTM are copied as they are (a rectifier the source lacks keeps its identity
    initialisation; the input height may differ). The classifier's ``(C, 2H)`` rows are copied by
    character: a character both vocabularies share keeps its row, the CTC blank keeps the blank's,
    and characters new to ``target`` keep their fresh initialisation. Returns the new characters.
    Raises ``ValueError`` when the architectures differ (naming the first mismatching tensor).
    """
    src, dst = source.state_dict(), target.state_dict()
    head = {"classifier.weight", "classifier.bias"}
    fresh = {k for k in dst if k.startswith("rectifier.") and k not in src}  # a new rectifier
    for key, value in dst.items():
        if key in head or key in fresh:
            continue
        if key not in src or src[key].shape != value.shape:
            got = tuple(src[key].shape) if key in src else "missing"
            raise ValueError(f"cannot transfer {key}: source {got}, target {tuple(value.shape)}")
    old, new = source.vocab, target.vocab
    old_index = {c: i for i, c in enumerate(old)}
    rows = [old_index.get(c, -1) for c in new] + [len(old)]  # the blank is the last class
    with torch.no_grad():
        state = {k: v.clone() for k, v in src.items() if k not in head}
        state.update({k: dst[k] for k in fresh})
        for name in head:
            t = dst[name].clone()
            for i, j in enumerate(rows):
                if j >= 0:
                    t[i] = src[name][j]
            state[name] = t
    target.load_state_dict(state)
    return [c for c in new if c not in old_index]


def with_vocab(source: CRNN, vocab: str) -> tuple[CRNN, list[str]]:
    """``source`` rebuilt for ``vocab``: same architecture, normalisation and weights, classifier
    rows mapped by character (:func:`transfer_weights`); returns the model and the new characters.

    The model is on ``source``'s device, in ``source``'s train/eval mode. An invalid ``vocab``
    (empty, duplicates) is a :class:`~crnn_plugin.errors.ConfigError`.
    """
    target = CRNN(dataclasses.replace(source.config, vocab=vocab))
    new = transfer_weights(source, target)
    device = next(source.parameters()).device
    return target.to(device).train(source.training), new


def new_rows(vocab: str, new_chars: list[str]) -> str:
    """Which classifier rows of ``vocab`` were freshly initialised, as ranges: ``"94-100 ('éèàçüöñ')"``."""
    if not new_chars:
        return "none"
    fresh = set(new_chars)
    idx = [i for i, c in enumerate(vocab) if c in fresh]
    spans: list[str] = []
    start = prev = idx[0]
    for i in [*idx[1:], -1]:
        if i != prev + 1:
            spans.append(str(start) if start == prev else f"{start}-{prev}")
            start = i
        prev = i
    chars = "".join(new_chars)
    shown = chars if len(chars) <= 40 else chars[:40] + "..."
    ranges = ", ".join(spans[:12]) + (f" and {len(spans) - 12} more ranges" if len(spans) > 12 else "")
    return f"{ranges} ({shown!r})"
