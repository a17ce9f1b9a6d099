"""Exact CTC scoring of lexicon words, ``log p(word|y)``, and the bounded search for the most
probable word: candidates are scored in order of an exact upper bound and scoring stops once no
remaining bound can beat the best exact score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ctc import as_array, case_folded_log_probs, sequence_log_probs

__all__ = ["score_words", "best_word", "match_case", "BOUND_SLACK"]

#: Slack (nats) on the bound so float rounding never prunes the true argmax.
BOUND_SLACK = 1e-4


def score_words(log_probs: Any, words: Sequence[str], vocab: str, *, case_sensitive: bool) -> np.ndarray:
    """Exact ``log p(word|y)`` of each word for one crop's ``(T, C)`` log-probs, in one CTC pass.

    Case-insensitive scoring merges each upper-case class into its lower-case class first, so the
    score sums the probabilities of every case variant of the word.
    """
    lp = as_array(log_probs)
    if not case_sensitive:
        lp = case_folded_log_probs(lp, vocab)
    index = {c: i for i, c in enumerate(vocab)}
    return sequence_log_probs(lp, [[index[c] for c in w] for w in words])


def best_word(
    log_probs: np.ndarray, words: Sequence[str], bounds: np.ndarray, vocab: str
) -> tuple[float, str | None, int]:
    """``(log p, word, scored)``: the exact argmax of ``log p(word|y)`` over ``words`` (scored
    case-sensitively on ``log_probs`` as given), ``bounds`` being an upper bound on each word's
    score. Words are scored in chunks (32, 64, ...) in order of their bound until no remaining
    bound beats the best score; ``word`` is None when every word is impossible."""
    order = np.argsort(-bounds, kind="stable")
    best, found, scored, start, chunk = -np.inf, None, 0, 0, 32
    while start < len(order) and bounds[order[start]] + BOUND_SLACK > best:
        idx = order[start : start + chunk]
        idx = idx[bounds[idx] + BOUND_SLACK > best]
        scores = score_words(log_probs, [words[i] for i in idx], vocab, case_sensitive=True)
        scored += len(idx)
        j = int(np.argmax(scores))
        if float(scores[j]) > best:
            best, found = float(scores[j]), words[idx[j]]
        start, chunk = start + chunk, chunk * 2
    return best, found, scored


def match_case(word: str, reading: str) -> str:
    """``word`` in the case the image shows, taken from the lexicon-free ``reading``: all upper,
    all lower or capitalised like it; letter by letter for other patterns when both have the same
    length; else as spelled in the lexicon.

    >>> match_case("South", "SOUTH"), match_case("iphone", "iPhone"), match_case("May", "may")
    ('SOUTH', 'iPhone', 'may')
    """
    letters = [c for c in reading if c.isalpha()]
    if not letters:
        return word
    if all(c.isupper() for c in letters):
        return word.upper()
    if all(c.islower() for c in letters):
        return word.lower()
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        first = next((i for i, c in enumerate(word) if c.isalpha()), 0)  # "(Hello", "'Tis", "3Rd"
        return word[:first] + word[first : first + 1].upper() + word[first + 1 :].lower()
    if len(reading) == len(word):
        return "".join(
            w.upper() if r.isupper() else w.lower() if r.islower() else w for w, r in zip(word, reading)
        )
    return word
