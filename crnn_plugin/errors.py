"""Exceptions raised by crnn_plugin; each message names the file, key or input at fault."""

from __future__ import annotations

__all__ = [
    "CRNNError",
    "ConfigError",
    "WeightsError",
    "ImageError",
    "LexiconError",
    "DatasetError",
    "DeviceError",
]


class CRNNError(Exception):
    """Base class of every error raised on purpose by crnn_plugin."""


class ConfigError(CRNNError, ValueError):
    """A ``config.json`` or config value that cannot build a model."""


class WeightsError(CRNNError):
    """Missing, unreadable or mismatched weights (names the file and the tensors)."""


class ImageError(CRNNError, ValueError):
    """An input image that cannot be read or recognised (corrupt, empty, 0-pixel...)."""


class LexiconError(CRNNError, ValueError):
    """A lexicon file or word list that cannot be used."""


class DatasetError(CRNNError, ValueError):
    """A labelled dataset (``labels.tsv`` folder, docTR folder, LMDB) that cannot be read."""


class DeviceError(CRNNError, RuntimeError):
    """A device that does not exist or is not available here (``"cuda"`` without CUDA, ``"tpu"``)."""
