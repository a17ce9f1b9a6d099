"""crnn_plugin: a CRNN (Shi, Bai & Yao, 2015) word recognizer for OCR pipelines.

Importing the package is light: it does not import docTR; call
:func:`crnn_plugin.register_doctr` (or import ``crnn_plugin.doctr_plugin``) for docTR.
"""

from __future__ import annotations

from .config import PRESETS, CRNNConfig
from .ctc import Decoded, beam_search, best_path, sequence_log_probs
from .errors import ConfigError, CRNNError, ImageError, LexiconError, WeightsError
from .hub import DEFAULT_MODEL, from_pretrained, push_to_hub, save_pretrained, shipped_models
from .model import CRNN, num_frames
from .preprocessing import load_image
from .recognizer import Prediction, Recognizer
from .vocab import VOCABS, Tokenizer

__version__ = "0.1.0"

__all__ = [
    "CRNN",
    "CRNNConfig",
    "PRESETS",
    "VOCABS",
    "DEFAULT_MODEL",
    "Tokenizer",
    "Recognizer",
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
    "__version__",
]
