"""Rescoring unsure readings with a character language model (lexicon-free).

A reading whose confidence is below ``LM_BELOW`` and that is made of letters (words separated by
single spaces) is replaced by the candidate of a CTC prefix beam search that maximises

    log p(l|y) + LM_WEIGHT * log P_lm(l)

over the candidates that are letters too (:mod:`crnn_plugin.char_lm`: how English words are spelt,
open-vocabulary). Readings with digits or punctuation, and sure readings, stay as they are: codes,
prices and names the model is sure of are never "corrected". ``LM_WEIGHT`` was chosen on a training
set (``ic15_train``; see the README), not on the validation sets.
"""

from __future__ import annotations

import math

import numpy as np

from .char_lm import ALPHABET, CharLM, english
from .ctc import Decoded, char_confidences, prefix_beams, sequence_log_probs
from .vocab import Tokenizer

__all__ = ["LM_WEIGHT", "LM_BELOW", "LM_BEAM", "rescorable", "rescore"]

#: Weight of the language model's log-probability against the CTC log-probability.
LM_WEIGHT = 0.2
#: Only readings less confident than this are rescored.
LM_BELOW = 0.9
#: Candidates: the prefixes of a beam this wide (each frame offering classes of p >= 0.01).
LM_BEAM = 6
_MIN_LOG_PROB = math.log(1e-2)
_LETTERS = frozenset(ALPHABET + ALPHABET.upper())


def _letters(text: str) -> bool:
    """Letters only, words separated by single spaces, no leading or trailing space."""
    return bool(text) and text == " ".join(text.split()) and all(c in _LETTERS for c in text.replace(" ", ""))


def rescorable(decoded: Decoded) -> bool:
    """Whether :func:`rescore` may change ``decoded``: unsure and made of letters."""
    return decoded.confidence < LM_BELOW and _letters(decoded.text)


def rescore(
    log_probs: np.ndarray,
    decoded: Decoded,
    tokenizer: Tokenizer,
    *,
    weight: float = LM_WEIGHT,
    lm: CharLM | None = None,
) -> Decoded:
    """``decoded``, the reading of one crop's ``(T, C)`` log-probabilities (blank last), or the
    letter candidate with the best combined score (module docstring); its confidence is then its
    own ``p(l|y)``."""
    if weight <= 0 or not rescorable(decoded):
        return decoded
    texts: list[str] = []
    labels: list[list[int]] = []
    for prefix, _ in prefix_beams(log_probs, LM_BEAM, _MIN_LOG_PROB):
        text = tokenizer.decode(prefix)
        if _letters(text) and text not in texts:
            texts.append(text)
            labels.append(list(prefix))
    if decoded.text not in texts:
        texts.append(decoded.text)
        labels.append(tokenizer.encode(decoded.text))
    model = lm if lm is not None else english()
    ctc = sequence_log_probs(log_probs, labels)
    score = ctc + weight * model.log_probs(texts)
    best = int(np.nanargmax(score))
    if texts[best] == decoded.text:
        return decoded
    blank = log_probs.shape[-1] - 1
    confs = char_confidences(np.exp(log_probs), labels[best], blank)
    return Decoded(texts[best], float(min(1.0, math.exp(ctc[best]))), confs)
