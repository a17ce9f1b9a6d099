"""The result of recognising one crop: :class:`Prediction` (text, confidence, error, lexicon fields).

Its own module so :mod:`crnn_plugin.recognizer_inputs` can name it without importing the
Recognizer; :mod:`crnn_plugin.recognizer` re-exports it (the package imports it from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Prediction"]


@dataclass(frozen=True)
class Prediction:
    """Result for one crop.

    ``error`` is ``None`` on success; for an input that could not be read it holds the message,
    ``text`` is ``""`` and ``confidence`` is ``0.0``. Lexicon fields are set when a lexicon was used.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    error: str | None = None
    raw_text: str | None = None  # lexicon-free text when a lexicon was applied
    lexicon_used: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the crop was read and recognised."""
        return self.error is None
