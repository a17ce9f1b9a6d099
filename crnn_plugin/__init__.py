"""crnn_plugin: a CRNN (Shi, Bai & Yao, 2015) word recognizer for OCR pipelines.

Importing the package is light: it imports neither torch nor docTR until a name that needs them
is used (``CRNN``, ``from_pretrained``...; ``Recognizer`` and ``Lexicon`` run without torch). It
registers ``reco_arch="crnn_plugin"`` with docTR when docTR is (or gets) imported;
:func:`register_doctr` does it explicitly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _doctr_hook

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): no torch at import time
    from .backend import num_frames
    from .config import PRESETS, CRNNConfig
    from .ctc import Decoded, beam_search, best_path, sequence_log_probs
    from .errors import (
        ConfigError,
        CRNNError,
        DatasetError,
        DeviceError,
        ImageError,
        LexiconError,
        WeightsError,
    )
    from .hub import from_pretrained, push_to_hub, save_pretrained
    from .lexicon import Lexicon
    from .model import CRNN
    from .model_folder import DEFAULT_MODEL, shipped_models
    from .preprocessing import load_image
    from .recognizer import Prediction, Recognizer
    from .regions import recognize_regions
    from .vocab import VOCABS, Tokenizer

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    **dict.fromkeys(["PRESETS", "CRNNConfig"], ".config"),
    **dict.fromkeys(["Decoded", "beam_search", "best_path", "sequence_log_probs"], ".ctc"),
    **dict.fromkeys(
        [
            "ConfigError",
            "CRNNError",
            "DatasetError",
            "DeviceError",
            "ImageError",
            "LexiconError",
            "WeightsError",
        ],
        ".errors",
    ),
    **dict.fromkeys(["from_pretrained", "push_to_hub", "save_pretrained"], ".hub"),
    **dict.fromkeys(["DEFAULT_MODEL", "shipped_models"], ".model_folder"),
    "Lexicon": ".lexicon",
    "CRNN": ".model",
    "num_frames": ".backend",
    "recognize_regions": ".regions",
    "load_image": ".preprocessing",
    **dict.fromkeys(["Prediction", "Recognizer"], ".recognizer"),
    **dict.fromkeys(["VOCABS", "Tokenizer"], ".vocab"),
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (``crnn_plugin.CRNN`` imports torch then)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crnn_plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def register_doctr() -> None:
    """Register ``"crnn_plugin"`` as a docTR recognition architecture (imports docTR; idempotent)."""
    from .doctr_plugin import register_doctr as _register

    _register()


_doctr_hook.install()

__all__ = [
    "CRNN",
    "CRNNConfig",
    "PRESETS",
    "VOCABS",
    "DEFAULT_MODEL",
    "Tokenizer",
    "Recognizer",
    "recognize_regions",
    "Lexicon",
    "Prediction",
    "Decoded",
    "best_path",
    "beam_search",
    "sequence_log_probs",
    "num_frames",
    "load_image",
    "from_pretrained",
    "save_pretrained",
    "push_to_hub",
    "shipped_models",
    "CRNNError",
    "ConfigError",
    "WeightsError",
    "ImageError",
    "LexiconError",
    "DatasetError",
    "DeviceError",
    "register_doctr",
    "__version__",
]
