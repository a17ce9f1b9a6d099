"""crnn_plugin: a CRNN (Shi, Bai & Yao, 2015) word recognizer for OCR pipelines.

Importing the package is light: it does not import docTR. It registers ``reco_arch="crnn_plugin"``
with docTR when docTR is (or gets) imported; :func:`register_doctr` does it explicitly.
"""

from __future__ import annotations

from . import _doctr_hook
from .config import PRESETS, CRNNConfig
from .ctc import Decoded, beam_search, best_path, sequence_log_probs
from .errors import ConfigError, CRNNError, DatasetError, DeviceError, ImageError, LexiconError, WeightsError
from .hub import DEFAULT_MODEL, from_pretrained, push_to_hub, save_pretrained, shipped_models
from .lexicon import Lexicon
from .model import CRNN, num_frames
from .preprocessing import load_image
from .recognizer import Prediction, Recognizer
from .vocab import VOCABS, Tokenizer

__version__ = "0.1.0"


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
