"""A character n-gram language model of English words, for rescoring unsure readings.

Witten-Bell interpolated n-grams (order 5: four characters of context) over the letters a-z and
an end-of-word symbol, counted once per word *type* of a word list (the shipped ``en-50k``), so
the model knows how English words are spelt, not which words are frequent. It is open-vocabulary:
any string of letters gets a probability, names and new words included; it is not a lexicon.
Built with numpy in well under a second, once per process (:func:`english`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["CharLM", "english", "ALPHABET"]

#: The letters the model spells with; a word with anything else is not scored.
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_BOS, _EOS = len(ALPHABET) + 1, len(ALPHABET) + 2  # letters are 1..26
_BITS = 5  # bits per symbol in an n-gram code
_CODE = {c: i + 1 for i, c in enumerate(ALPHABET)}
# the same codes from ASCII bytes: "a" (97) -> 1 ... "z" -> 26, "{" -> _BOS, "|" -> _EOS
_OFFSET = ord("a") - 1
_CHAR_BOS, _CHAR_EOS = chr(_OFFSET + _BOS), chr(_OFFSET + _EOS)


class CharLM:
    """``order``-gram character model of ``words`` (lower-cased; words with other characters
    than ``ALPHABET`` are skipped)."""

    def __init__(self, words: Iterable[str], order: int = 5) -> None:
        if not 1 <= order <= 8:
            raise ValueError(f"CharLM: order must be 1..8, got {order}")
        self.order = order
        unique = sorted({w.lower() for w in words})  # each spelling once, whatever its case
        seqs = [w for w in unique if _spellable(w)]
        if not seqs:
            raise ValueError("CharLM: no word of letters a-z to learn from")
        symbols, targets = self._positions(seqs)
        #: per context length k: sorted n-gram codes and counts, context codes, counts and types
        self._ngrams: list[tuple[np.ndarray, np.ndarray]] = []
        self._contexts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for k in range(order):
            grams, counts = np.unique(_codes(symbols, targets, k), return_counts=True)
            # grams are sorted, so are their contexts (the code's high bits): group them in place
            ctx, starts, types = np.unique(grams >> _BITS, return_index=True, return_counts=True)
            ctx_counts = np.add.reduceat(counts, starts)
            self._ngrams.append((grams, counts))
            self._contexts.append((ctx, ctx_counts, types))
        self.vocab_size = len(ALPHABET) + 1  # letters and end of word

    def _positions(self, seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All words (lower-case a-z) padded with ``order - 1`` start symbols and ended,
        concatenated as symbol codes; and the indices of the symbols to predict (each letter and
        each end)."""
        pad = _CHAR_BOS * (self.order - 1)
        text = "".join(pad + w + _CHAR_EOS for w in seqs).encode("ascii")
        flat = np.frombuffer(text, np.uint8).astype(np.int64) - _OFFSET
        return flat, np.flatnonzero(flat != _BOS)

    def log_probs(self, words: Sequence[str]) -> np.ndarray:
        """Natural-log probability of each word (lower-cased; spaces separate words whose
        probabilities multiply); ``nan`` for a word with characters outside ``ALPHABET``."""
        out = np.full(len(words), np.nan)
        seqs: list[str] = []
        owners: list[int] = []
        for i, text in enumerate(words):
            parts = text.lower().split()
            if not parts or not all(_spellable(p) for p in parts):
                continue
            seqs += parts
            owners += [i] * len(parts)
        if not seqs:
            return out
        symbols, targets = self._positions(seqs)
        prob = self._interpolated(symbols, targets)
        lengths = np.asarray([len(s) + 1 for s in seqs])
        per_word = np.add.reduceat(np.log(prob), np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        out_known = np.zeros(len(words))
        np.add.at(out_known, np.asarray(owners), per_word)
        done = np.zeros(len(words), bool)
        done[np.asarray(owners)] = True
        out[done] = out_known[done]
        return out

    def next_probs(self, context: str) -> np.ndarray:
        """``(27,)`` probabilities of each letter a-z, then the end of the word, after the word
        start ``context`` (letters; lower-cased). They sum to 1."""
        if context and not _spellable(context.lower()):
            raise ValueError(f"CharLM: context {context!r} has characters outside a-z")
        prefix = [_CODE[c] for c in context.lower()]
        ctx = ([_BOS] * (self.order - 1) + prefix)[-(self.order - 1) :] if self.order > 1 else []
        symbols = np.asarray([*ctx, *range(1, len(ALPHABET) + 1), _EOS], np.int64)
        n_ctx = len(ctx)
        # one "position" per next symbol, each after the same context
        rows = [np.concatenate([symbols[:n_ctx], [sym]]) for sym in symbols[n_ctx:]]
        flat = np.concatenate(rows)
        targets = np.arange(n_ctx, len(flat), n_ctx + 1)
        return self._interpolated(flat, targets)

    def _interpolated(self, symbols: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Witten-Bell probability of each ``symbols[targets]`` after the symbols before it."""
        prob = np.full(len(targets), 1.0 / self.vocab_size)
        for k in range(self.order):  # interpolate from the unigram up
            codes = _codes(symbols, targets, k)
            n, types = _lookup_context(self._contexts[k], codes >> _BITS)
            c = _lookup(self._ngrams[k], codes)
            prob = np.where(n > 0, (c + types * prob) / np.maximum(n + types, 1), prob)
        return prob

    def log_prob(self, word: str) -> float:
        """:meth:`log_probs` of one word."""
        return float(self.log_probs([word])[0])


def _spellable(word: str) -> bool:
    """Non-empty and only a-z (after lower-casing, ASCII letters are exactly that)."""
    return bool(word) and word.isascii() and word.isalpha()


def _codes(symbols: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """n-gram codes (``k`` context symbols, then the target) of ``symbols[targets]``."""
    code = np.zeros(len(targets), np.int64)
    for j in range(k, 0, -1):
        code = (code << _BITS) | symbols[targets - j]
    return (code << _BITS) | symbols[targets]


def _lookup(table: tuple[np.ndarray, np.ndarray], keys: np.ndarray) -> np.ndarray:
    sorted_keys, values = table
    i = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.where(sorted_keys[i] == keys, values[i], 0)


def _lookup_context(
    table: tuple[np.ndarray, np.ndarray, np.ndarray], keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    ctx, counts, types = table
    i = np.minimum(np.searchsorted(ctx, keys), len(ctx) - 1)
    hit = ctx[i] == keys
    return np.where(hit, counts[i], 0), np.where(hit, types[i], 0)


@functools.lru_cache(maxsize=1)
def english() -> CharLM:
    """The model of the shipped ``en-50k`` word list (built once per process)."""
    from .lexicon_io import read_lines, read_source

    data, label = read_source("en-50k")
    return CharLM(read_lines(data, label, progress=False))
