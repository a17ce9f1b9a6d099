"""Lexicon-based transcription (Section 2.3 of Shi et al.): pick ``argmax_l p(l|y)`` over a lexicon.

Small lexicons are scored exhaustively. Large ones are first narrowed to the nearest neighbours
``N_delta(l')`` of the lexicon-free output ``l'`` (Levenshtein distance <= ``max_distance``), with a
vectorised RapidFuzz scan (behind a bag-of-characters filter above 200k words) or a BK-tree, and
every candidate is then scored exactly by CTC. The words are indexed once, when the lexicon is
built. A line reading (a vocab with the space) is matched word by word.

This module holds the :class:`Lexicon` and applies it to a :class:`~crnn_plugin.Recognizer`'s
readings; the parts live beside it: :mod:`~crnn_plugin.lexicon_index` (index and search),
:mod:`~crnn_plugin.lexicon_score` (exact CTC scoring), :mod:`~crnn_plugin.lexicon_lines` (word
and line matching) and :mod:`~crnn_plugin.lexicon_io` (files).
"""

from __future__ import annotations

import copy
import math
import operator
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .ctc import Decoded, as_array, case_folded_log_probs, count_upper_bounds
from .errors import LexiconError
from .lexicon_index import MAX_COUNT, BKTree, WordIndex
from .lexicon_io import (
    CHUNK,
    SHIPPED_LEXICONS,
    SPACE,
    Bar,
    progress_bar,
    read_lexicon_tsv,
    read_lines,
    read_source,
)
from .lexicon_lines import correct, word_spans
from .lexicon_score import best_word, match_case, score_words
from .recognizer import Prediction, _lexicons_per_input

if TYPE_CHECKING:
    from .recognizer import Recognizer

__all__ = [
    "Lexicon",
    "BKTree",
    "LexiconMatch",
    "read_lexicon_tsv",
    "apply_lexicon",
    "lexicons_for",
    "match_case",
    "score_words",
    "word_spans",
    "SHIPPED_LEXICONS",
]

#: ``search="auto"``: lexicons up to this many usable words are scanned whole, larger ones through
#: the bag-of-characters filter (a BK-tree in Python took 157 s to build at 5M words).
_FILTER_MIN = 200_000


@dataclass(frozen=True)
class LexiconMatch:
    """The chosen lexicon word, its exact probability ``p(word|y)`` and how it was found.

    ``candidates`` words were eligible (the whole lexicon, or ``N_delta``); ``scored`` of them were
    scored by CTC, the others were ruled out by an exact upper bound on ``p(word|y)``.
    """

    word: str | None
    probability: float
    candidates: int
    method: str  # "exhaustive", "bktree", "scan" or "none" (no word within max_distance)
    scored: int = 0


class Lexicon:
    """A word list for lexicon-based transcription.

    Matching is case-insensitive by default: a word's probability then sums the probabilities of
    all its case variants, and the result keeps the lexicon's spelling.

    Closed by default (the paper's rule: the output is always a lexicon word when one is within
    ``max_distance``). ``min_ratio`` makes it open-vocabulary: the lexicon-free reading ``l'`` is
    kept unless the best word ``w`` has ``p(w|y) >= min_ratio * p(l'|y)``, so words the list lacks
    (names, numbers) survive while unsure readings are still corrected.

    A word is one word: whitespace inside a word is a :class:`LexiconError` (a line is matched
    word by word, see :func:`apply_lexicon`). The words are indexed once, here; ``progress=True``
    shows a bar on stderr for lists of a million words or more.

    >>> lex = Lexicon(["hello", "world"])
    >>> len(lex)
    2
    """

    def __init__(
        self,
        words: Iterable[str],
        *,
        case_sensitive: bool = False,
        name: str | None = None,
        exhaustive_max: int = 1000,
        search: str = "auto",
        min_ratio: float | None = None,
        max_distance: int = 3,
        progress: bool = False,
    ) -> None:
        if search not in ("auto", "bktree", "scan", "filter"):
            raise ValueError("search must be 'auto', 'bktree', 'scan' or 'filter'")
        if isinstance(words, str):
            raise LexiconError(f"{name or 'lexicon'}: pass a list of words, not one string")
        try:  # ints and numpy integers
            delta = -1 if isinstance(max_distance, bool) else operator.index(max_distance)
        except TypeError:
            delta = -1
        if delta < 0:
            raise LexiconError(
                f"{name or 'lexicon'}: max_distance must be an integer >= 0, got {max_distance!r}"
            )
        self.max_distance = delta
        _check_min_ratio(name or "lexicon", min_ratio)
        self.min_ratio = min_ratio
        self.case_sensitive = case_sensitive
        self.name = name or "lexicon"
        self.exhaustive_max = exhaustive_max
        self.search_method = search
        words = list(words)
        desc = f"lexicon {self.name}: indexing {len(words):,} words"
        with progress_bar(len(words), desc, progress) as bar:
            self._spelling = self._dedupe(words, bar)
            if not self._spelling:
                raise LexiconError(f"{self.name}: the lexicon is empty")
            self._keys = list(self._spelling)  # matching keys (lower-cased unless case_sensitive)
            bar.retotal(len(words) + len(self._keys))
            self._index = WordIndex(self._keys, case_sensitive=case_sensitive, name=self.name, bar=bar)

    def _dedupe(self, words: list[str], bar: Bar) -> dict[str, str]:
        """Matching key -> spelling, in first-seen order; "may" over "May" when a list has both."""
        seen: dict[str, str] = {}
        for start in range(0, len(words), CHUNK):
            chunk = words[start : start + CHUNK]
            bad = next((w for w in chunk if not isinstance(w, str)), None)
            if bad is not None:
                raise LexiconError(f"{self.name}: words must be strings, got {type(bad).__name__}")
            stripped = [w.strip() for w in chunk]
            if SPACE.search("".join(stripped)):  # one regex pass per chunk, not one per word
                i = next(i for i, w in enumerate(stripped) if SPACE.search(w))
                raise LexiconError(
                    f"{self.name}: word {start + i + 1} ({stripped[i]!r}) contains whitespace: "
                    "a lexicon word is one word (a line reading is matched word by word)"
                )
            for w in stripped:
                if not w:
                    continue
                key = w if self.case_sensitive else w.lower()
                if key == w:
                    key = w  # one string object for both: half the memory
                if key not in seen or w == key:
                    seen[key] = w
            bar.update(len(chunk))
        return seen

    def with_min_ratio(self, min_ratio: float | None) -> Lexicon:
        """This lexicon, open with ``min_ratio`` (None: closed), sharing its index: nothing is
        read or indexed again."""
        _check_min_ratio(self.name, min_ratio)
        other = copy.copy(self)
        other.min_ratio = min_ratio
        return other

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        return (word if self.case_sensitive else word.lower()) in self._spelling

    @property
    def words(self) -> list[str]:
        """The words, in the lexicon's own spelling."""
        return [self._spelling[k] for k in self._keys]

    @classmethod
    def load(cls, source: str | os.PathLike[str], *, progress: bool = False, **kwargs: object) -> Lexicon:
        """Read a shipped lexicon by name (``"en-50k"``) or a UTF-8 file, one word a line.

        Blank lines and lines starting with ``#`` are ignored. Errors name the file and line.
        ``progress=True`` shows a bar on stderr for files of a million lines or more.
        """
        data, label = read_source(source)
        words = read_lines(data, label, progress)
        return cls(words, name=label, progress=progress, **kwargs)  # type: ignore[arg-type]

    def check_vocab(self, vocab: str) -> None:
        """Index the lexicon for ``vocab`` (a model's characters) now; raise
        :class:`LexiconError` if no word can be written with it (words that use other characters
        are skipped with a warning)."""
        self._index.for_vocab(vocab)

    def candidates(
        self, query: str, max_distance: int, vocab: str, *, method: str | None = None
    ) -> list[str]:
        """Keys within Levenshtein distance ``max_distance`` of ``query`` (BK-tree, RapidFuzz scan,
        or scan of the words that pass the bag-of-characters filter)."""
        method = method or self._method(self._index.for_vocab(vocab).count)
        rows = self._index.candidate_rows(self._key(query), max_distance, vocab, method)
        return [self._index.buckets[n].words[i] for n, r in rows.items() for i in r]

    def _key(self, text: str) -> str:
        """The matching key of ``text`` (lower case unless case-sensitive)."""
        return text if self.case_sensitive else text.lower()

    def keeps_reading(self, log_probs: Any, raw_text: str, word_probability: float, vocab: str) -> bool:
        """Open vocabulary only: whether the lexicon-free ``raw_text`` beats the best word's
        ``p(w|y)`` by more than ``1 / min_ratio`` (``p(l'|y)`` scored exactly, case-folded like
        the words unless ``case_sensitive``). Always False for a closed lexicon or an empty reading."""
        if self.min_ratio is None or not raw_text:
            return False
        if self.min_ratio <= 1 and raw_text in self:
            return False  # the reading is a candidate itself, so the best word is at least as probable
        raw = self._key(raw_text)
        p_raw = math.exp(float(score_words(log_probs, [raw], vocab, case_sensitive=self.case_sensitive)[0]))
        return word_probability < self.min_ratio * p_raw

    def _method(self, n: int) -> str:
        if self.search_method != "auto":
            return self.search_method
        # measured at 50k words: the RapidFuzz scan is ~3x faster than the BK-tree (benchmarks/);
        # at 5M words the bag filter first keeps about 1 word in 10 (README, Lexicons)
        return "scan" if n <= _FILTER_MIN else "filter"

    def match(
        self,
        log_probs: Any,
        raw_text: str,
        vocab: str,
        *,
        max_distance: int | None = None,
    ) -> LexiconMatch:
        """Best word for one crop's ``(T, C)`` log-probabilities (blank last).

        Lexicons of at most ``exhaustive_max`` words are scored whole (the paper's rule: the most
        probable word, however far from the reading). Larger ones are first narrowed to the words
        within ``max_distance`` (default: the lexicon's own, δ = 3) edits of ``raw_text``.
        Case-insensitive lexicons return the word in the case pattern of ``raw_text`` (see
        :func:`match_case`).

        Candidates are scored in order of an exact upper bound on ``p(word|y)``
        (``ctc.count_upper_bounds``) and scoring stops once no remaining bound can beat the best
        exact score, so the result is the exact argmax over all candidates.
        """
        index = self._index.for_vocab(vocab)
        if index.count <= self.exhaustive_max:
            method = "exhaustive"
            rows = {n: np.flatnonzero(u) for n, u in index.usable.items() if u.any()}
        else:
            method = self._method(index.count)
            delta = self.max_distance if max_distance is None else max_distance
            rows = self._index.candidate_rows(self._key(raw_text), delta, vocab, method)
        n_cands = sum(len(r) for r in rows.values())
        if n_cands == 0:
            return LexiconMatch(None, 0.0, 0, "none")
        lp = as_array(log_probs)
        lp = lp if self.case_sensitive else case_folded_log_probs(lp, vocab)
        table = count_upper_bounds(lp, MAX_COUNT).ravel()
        words, bounds = self._index.words_and_bounds(rows, vocab, table)
        best, found, scored = best_word(lp, words, bounds, vocab)
        if found is None:  # every candidate impossible (longer than the frames allow)
            return LexiconMatch(None, 0.0, n_cands, method, scored)
        word = self._spelling[found]
        if not self.case_sensitive:
            word = match_case(word, raw_text)
        return LexiconMatch(word, math.exp(best), n_cands, method, scored)

    def correct(
        self, log_probs: np.ndarray, decoded: Decoded, vocab: str, *, max_distance: int | None = None
    ) -> Prediction:
        """The :class:`~crnn_plugin.Prediction` for one crop: its ``(T, C)`` log-probabilities and
        best-path reading ``decoded``, matched with this lexicon (a line word by word, see
        :func:`apply_lexicon`); ``max_distance`` overrides the lexicon's own δ. What the
        Recognizer calls for ``rec(images, lexicon=lex)``."""
        return correct(self, log_probs, decoded, vocab, max_distance)


def _check_min_ratio(name: str, min_ratio: float | None) -> None:
    if min_ratio is not None and not (min_ratio >= 0.0 and math.isfinite(min_ratio)):
        raise LexiconError(f"{name}: min_ratio must be a finite number >= 0, got {min_ratio}")


def lexicons_for(lexicon: object, n: int) -> Lexicon | list[Lexicon | None]:
    """Check the ``lexicon=`` of a call on ``n`` inputs: one :class:`Lexicon` for all (or the name
    or file of one, loaded), or a list with one :class:`Lexicon` or ``None`` per input."""
    if isinstance(lexicon, (str, os.PathLike)):
        return Lexicon.load(lexicon)
    if isinstance(lexicon, Lexicon):
        return lexicon
    return _lexicons_per_input(lexicon, n)  # type: ignore[return-value]  # the recognizer's own check


def apply_lexicon(
    recognizer: Recognizer,
    arrays: Sequence[np.ndarray],
    lexicon: Lexicon | Sequence[Lexicon | None] | str | os.PathLike[str],
    *,
    max_distance: int | None = None,
) -> list[Prediction]:
    """Lexicon-based predictions for pre-processed crops (``Recognizer.prepare``; one lexicon for
    all, or one per crop); ``max_distance`` overrides each lexicon's own δ.

    A reading with spaces (a line, from a model whose vocab has the space) is matched word by word:
    its frames are cut where the space class is the most likely one, each stretch between is
    matched like a word crop (its own reading, its own frames), and the line is the words joined
    by single spaces, its confidence the exact ``p(line|y)`` over all frames (case-folded like the
    words). ``extra["words"]`` tells each word's reading and outcome.
    """
    checked = lexicons_for(lexicon, len(arrays))
    lexs = [checked] * len(arrays) if isinstance(checked, Lexicon) else checked
    vocab = recognizer.config.vocab
    out: list[Prediction] = []
    for (lp, dec), lex in zip(recognizer.log_probs_and_decode(arrays), lexs):
        if lex is None:
            out.append(Prediction(dec.text, dec.confidence, dec.char_confidences, raw_text=dec.text))
        else:
            out.append(lex.correct(lp, dec, vocab, max_distance=max_distance))
    return out
