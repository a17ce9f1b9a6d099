"""Checks and normalisation of the Recognizer's call arguments: one input or a collection,
positive integer options, and ``lexicon=`` as one lexicon (or None) per input.

:mod:`crnn_plugin.recognizer` re-exports :class:`LexiconLike` and the helpers it uses.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from .ctc import Decoded
from .errors import LexiconError
from .prediction import Prediction

__all__ = ["LexiconLike"]


class LexiconLike(Protocol):
    """What ``Recognizer(..., lexicon=...)`` needs of a lexicon (:class:`crnn_plugin.Lexicon`):
    the prediction for one crop from its ``(T, C)`` log-probabilities and best-path reading."""

    def correct(self, log_probs: np.ndarray, decoded: Decoded, vocab: str) -> Prediction: ...


def _lexicons_per_input(lexicon: object, n: int) -> list[LexiconLike | None]:
    """The ``lexicon=`` of a call on ``n`` inputs as one lexicon (or None) per input: one
    :class:`~crnn_plugin.Lexicon` for all, or a sequence with one Lexicon or None per input."""
    hint = "pass Lexicon(words) to use one word list for every input"
    if _is_lexicon(lexicon):
        return [lexicon] * n  # type: ignore[list-item]
    if isinstance(lexicon, (str, os.PathLike)):  # a name ('en-50k') or a word-list file
        from .lexicon import Lexicon  # imported on use: lexicon.py builds on this module

        return [Lexicon.load(lexicon)] * n
    if not isinstance(lexicon, Sequence):
        raise LexiconError(
            f"lexicon= takes a Lexicon, or one Lexicon (or None) per input; "
            f"got a {type(lexicon).__name__}: {hint}"
        )
    lexs = list(lexicon)
    for i, x in enumerate(lexs):
        if x is not None and not _is_lexicon(x):
            raise LexiconError(f"lexicon[{i}] is a {type(x).__name__}, not a Lexicon or None: {hint}")
    if len(lexs) != n:
        raise LexiconError(f"{len(lexs)} lexicons given for {n} inputs (one Lexicon or None per input)")
    return lexs


def _is_lexicon(x: object) -> bool:
    return callable(getattr(x, "correct", None)) and not isinstance(x, type)


def _check_positive_int(name: str, value: object) -> None:
    if value is not None and (
        not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1
    ):
        raise ValueError(f"{name} must be an integer >= 1 (or None), got {value!r}")


def _is_single_input(images: object) -> bool:
    """One image (a path, bytes, a PIL image, an ``(H, W)`` or ``(H, W, 1|3|4)`` array) rather than
    a collection of them (a list, tuple, generator, an ``(N, H, W, C)`` array, an ``(N, H, W)``
    array with N and W over 4...)."""
    if isinstance(images, (str, bytes, bytearray, os.PathLike, Image.Image)):
        return True
    shape = getattr(images, "shape", None)  # arrays: one image, or a batch along the first axis
    if shape is not None:
        # (N, H, W) is a batch only when neither end axis can be channels: a channels-first or
        # 2-channel image then fails loudly as one image instead of being read row by row
        return len(shape) <= 2 or (len(shape) == 3 and (shape[-1] <= 4 or shape[0] <= 4))
    return not isinstance(images, Iterable)
