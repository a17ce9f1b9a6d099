"""A lexicon applied to one crop's reading: a word crop is matched whole; a line reading (a vocab
with the space) word by word, its frames cut where the space class wins."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .ctc import Decoded, as_array
from .lexicon_score import score_words
from .recognizer import Prediction

if TYPE_CHECKING:
    from .lexicon import Lexicon

__all__ = ["correct", "match_word", "match_line", "word_spans"]


def correct(
    lex: Lexicon, lp: np.ndarray, dec: Decoded, vocab: str, max_distance: int | None = None
) -> Prediction:
    """The prediction for one crop's ``(T, C)`` log-probs ``lp`` and best-path reading ``dec``
    under ``lex`` (``max_distance`` overrides its δ)."""
    if " " in dec.text and " " in vocab:
        return match_line(lex, lp, dec, vocab, max_distance)
    return match_word(lex, lp, dec, vocab, max_distance)


def match_word(
    lex: Lexicon, lp: np.ndarray, dec: Decoded, vocab: str, max_distance: int | None
) -> Prediction:
    """One word crop: the lexicon word, or the reading with the reason in ``extra``."""
    m = lex.match(lp, dec.text, vocab, max_distance=max_distance)
    if m.word is not None and not lex.keeps_reading(lp, dec.text, m.probability, vocab):
        extra: dict[str, object] = {"candidates": m.candidates, "scored": m.scored, "method": m.method}
        return Prediction(m.word, m.probability, (), raw_text=dec.text, lexicon_used=True, extra=extra)
    if m.word is None:
        why = (
            f"no word within max_distance {lex.max_distance if max_distance is None else max_distance}"
            if m.method == "none"
            else "no lexicon word fits the crop's frames"
        )
        extra = {"lexicon": why, "candidates": m.candidates}
    else:  # open vocabulary: the reading is far more probable than any word
        extra = {
            "lexicon": f"lexicon-free reading kept (best word < min_ratio {lex.min_ratio:g} x)",
            "word": m.word,
            "word_probability": m.probability,
            "candidates": m.candidates,
        }
    return Prediction(
        dec.text, dec.confidence, dec.char_confidences, raw_text=dec.text, lexicon_used=False, extra=extra
    )


def word_spans(log_probs: Any, vocab: str) -> list[tuple[int, int, str]]:
    """``(start, end, reading)`` of each word of a line: the stretches of frames between frames
    whose most likely class is the space (blank last), with the best-path reading of each; empty
    stretches are left out. Joined by single spaces the readings are the line's best path."""
    space, blank = vocab.index(" "), len(vocab)
    best = as_array(log_probs).argmax(-1).tolist()
    spans: list[tuple[int, int, str]] = []
    start = 0
    for t in range(len(best) + 1):
        if t < len(best) and best[t] != space:
            continue
        chars = [
            c for k, c in enumerate(best[start:t]) if c != blank and (k == 0 or c != best[start + k - 1])
        ]
        if chars:
            spans.append((start, t, "".join(vocab[c] for c in chars)))
        start = t + 1
    return spans


def match_line(
    lex: Lexicon, lp: np.ndarray, dec: Decoded, vocab: str, max_distance: int | None
) -> Prediction:
    """A line reading, matched word by word (see :func:`crnn_plugin.lexicon.apply_lexicon`)."""
    words: list[str] = []
    details: list[dict[str, object]] = []
    for start, end, reading in word_spans(lp, vocab):
        p = match_word(lex, lp[start:end], Decoded(reading, 0.0, ()), vocab, max_distance)
        words.append(p.text)
        details.append({"reading": reading, "text": p.text, "lexicon_used": p.lexicon_used, **p.extra})
    if not any(d["lexicon_used"] for d in details):
        return Prediction(
            dec.text,
            dec.confidence,
            dec.char_confidences,
            raw_text=dec.text,
            lexicon_used=False,
            extra={"words": details},
        )
    line = " ".join(words)
    key = line if lex.case_sensitive else line.lower()
    p_line = math.exp(float(score_words(lp, [key], vocab, case_sensitive=lex.case_sensitive)[0]))
    return Prediction(line, p_line, (), raw_text=dec.text, lexicon_used=True, extra={"words": details})
