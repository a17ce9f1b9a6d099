"""Lexicon-based transcription (Section 2.3 of Shi et al.): pick ``argmax_l p(l|y)`` over a lexicon.

Small lexicons are scored exhaustively. Large ones are first narrowed to the nearest neighbours
``N_delta(l')`` of the lexicon-free output ``l'`` (Levenshtein distance <= ``max_distance``), with a
BK-tree or a vectorised RapidFuzz scan, and every candidate is then scored exactly by CTC.
"""

from __future__ import annotations

import logging
import math
import operator
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .ctc import case_folded_log_probs, count_upper_bounds, sequence_log_probs
from .errors import LexiconError

if TYPE_CHECKING:
    from .recognizer import Prediction, Recognizer

__all__ = [
    "Lexicon",
    "BKTree",
    "LexiconMatch",
    "read_lexicon_tsv",
    "apply_lexicon",
    "lexicons_for",
    "match_case",
    "SHIPPED_LEXICONS",
]

logger = logging.getLogger(__name__)

#: Lexicons shipped with the package, by name.
SHIPPED_LEXICONS = {"en-50k": "en_50k.txt"}


class BKTree:
    """Burkhard-Keller tree over Levenshtein distance (RapidFuzz's implementation).

    ``search(q, d)`` returns every word within distance ``d`` of ``q``, visiting only the subtrees
    whose edge label ``k`` satisfies ``|k - dist(q, node)| <= d`` (triangle inequality).
    """

    def __init__(self, words: Iterable[str]) -> None:
        self._root: tuple[str, dict[int, object]] | None = None
        self.size = 0
        for w in words:
            self.add(w)

    def add(self, word: str) -> None:
        if self._root is None:
            self._root = (word, {})
            self.size = 1
            return
        node = self._root
        while True:
            d = Levenshtein.distance(word, node[0])
            if d == 0:
                return
            child = node[1].get(d)
            if child is None:
                node[1][d] = (word, {})
                self.size += 1
                return
            node = child  # type: ignore[assignment]

    def search(self, query: str, max_distance: int) -> list[tuple[str, int]]:
        """``(word, distance)`` for every word with ``distance <= max_distance``."""
        if self._root is None:
            return []
        out: list[tuple[str, int]] = []
        stack = [self._root]
        while stack:
            word, children = stack.pop()
            d = Levenshtein.distance(query, word)
            if d <= max_distance:
                out.append((word, d))
            lo, hi = d - max_distance, d + max_distance
            for k, child in children.items():
                if lo <= k <= hi:
                    stack.append(child)  # type: ignore[arg-type]
        return out


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


#: Occurrence counts tracked by the upper bound (``ctc.count_upper_bounds``).
_MAX_COUNT = 3
#: Slack (nats) on the bound so float rounding never prunes the true argmax.
_BOUND_SLACK = 1e-4


@dataclass(frozen=True)
class _Bucket:
    """The lexicon's words of one length ``n`` and their codes into the bound table: ``(N, n)``."""

    words: list[str]
    codes: np.ndarray


def _encode(words: Sequence[str], index: dict[str, int]) -> np.ndarray:
    """``(N, n)`` codes ``class * _MAX_COUNT + (occurrence - 1)`` of same-length words."""
    rows = []
    for w in words:
        seen: dict[str, int] = {}
        row = []
        for c in w:
            k = seen.get(c, 0)
            seen[c] = k + 1
            row.append(index[c] * _MAX_COUNT + min(k, _MAX_COUNT - 1))
        rows.append(row)
    return np.asarray(rows, dtype=np.int64).reshape(len(words), -1)


class Lexicon:
    """A word list for lexicon-based transcription.

    Matching is case-insensitive by default: a word's probability then sums the probabilities of
    all its case variants, and the result keeps the lexicon's spelling.

    Closed by default (the paper's rule: the output is always a lexicon word when one is within
    ``max_distance``). ``min_ratio`` makes it open-vocabulary: the lexicon-free reading ``l'`` is
    kept unless the best word ``w`` has ``p(w|y) >= min_ratio * p(l'|y)``, so words the list lacks
    (names, numbers) survive while unsure readings are still corrected.

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
    ) -> None:
        if search not in ("auto", "bktree", "scan"):
            raise ValueError("search must be 'auto', 'bktree' or 'scan'")
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
        if min_ratio is not None and not (min_ratio >= 0.0 and math.isfinite(min_ratio)):
            raise LexiconError(
                f"{name or 'lexicon'}: min_ratio must be a finite number >= 0, got {min_ratio}"
            )
        self.min_ratio = min_ratio
        self.case_sensitive = case_sensitive
        self.name = name or "lexicon"
        self.exhaustive_max = exhaustive_max
        self.search_method = search
        seen: dict[str, str] = {}
        for w in words:
            if not isinstance(w, str):
                raise LexiconError(f"{self.name}: words must be strings, got {type(w).__name__}")
            w = w.strip()
            if w:
                key = w if case_sensitive else w.lower()
                if key not in seen or w == key:  # "may" over "May" when a list has both
                    seen[key] = w
        if not seen:
            raise LexiconError(f"{self.name}: the lexicon is empty")
        self._keys = list(seen)  # matching keys (lower-cased unless case_sensitive)
        self._spelling = seen
        self._bktrees: dict[str, BKTree] = {}
        self._vocab_cache: dict[str, list[str]] = {}
        self._len_cache: dict[str, dict[int, _Bucket]] = {}
        self._rows: dict[str, dict[str, int]] = {}

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
    def load(cls, source: str | os.PathLike[str], **kwargs: object) -> Lexicon:
        """Read a shipped lexicon by name (``"en-50k"``) or a UTF-8 file, one word a line.

        Blank lines and lines starting with ``#`` are ignored. Errors name the file and line.
        """
        name = str(source)
        if name in SHIPPED_LEXICONS:
            data = files("crnn_plugin.data").joinpath(SHIPPED_LEXICONS[name]).read_bytes()
            label = name
        else:
            path = Path(source)
            if path.is_dir():
                raise LexiconError(f"{path}: is a directory, not a lexicon file")
            try:
                data = path.read_bytes()
            except FileNotFoundError as e:
                known = ", ".join(SHIPPED_LEXICONS)
                raise LexiconError(f"{path}: lexicon file not found (shipped lexicons: {known})") from e
            except OSError as e:
                raise LexiconError(f"{path}: cannot read lexicon file ({e.strerror or e})") from e
            label = str(path)
        words = []
        for lineno, raw in enumerate(data.split(b"\n"), 1):
            try:
                line = raw.decode("utf-8").strip().lstrip("\ufeff")
            except UnicodeDecodeError as e:
                raise LexiconError(f"{label}:{lineno}: not valid UTF-8 ({e.reason})") from e
            if "\x00" in line:
                raise LexiconError(f"{label}:{lineno}: contains a NUL byte (binary file?)")
            if line and not line.startswith("#"):
                words.append(line)
        return cls(words, name=label, **kwargs)  # type: ignore[arg-type]

    def check_vocab(self, vocab: str) -> None:
        """Raise :class:`LexiconError` now if no word can be written with ``vocab`` (a model's
        characters); words that use other characters are skipped with a warning."""
        self._usable(vocab)

    def _usable(self, vocab: str) -> list[str]:
        """Matching keys spellable in ``vocab`` (words with other characters are skipped, logged)."""
        if vocab not in self._vocab_cache:
            chars = set(vocab)
            if not self.case_sensitive:
                chars |= {c.lower() for c in vocab}
            keep = [k for k in self._keys if set(k) <= chars]
            if len(keep) < len(self._keys):
                logger.warning(
                    "%s: %d of %d words use characters outside the model's vocab and are skipped",
                    self.name,
                    len(self._keys) - len(keep),
                    len(self._keys),
                )
            if not keep:
                raise LexiconError(f"{self.name}: no word can be written with the model's vocab")
            self._vocab_cache[vocab] = keep
        return self._vocab_cache[vocab]

    def candidates(
        self, query: str, max_distance: int, vocab: str, *, method: str | None = None
    ) -> list[str]:
        """Keys within Levenshtein distance ``max_distance`` of ``query`` (BK-tree or RapidFuzz scan)."""
        buckets = self._buckets(vocab)
        method = method or self._method(len(self._usable(vocab)))
        rows = self._candidate_rows(query, max_distance, vocab, method)
        return [buckets[n].words[i] for n, r in rows.items() for i in r]

    def _candidate_rows(
        self, query: str, max_distance: int, vocab: str, method: str
    ) -> dict[int, np.ndarray]:
        """Candidates as row indices into the length buckets: ``{length: rows}``."""
        q = query if self.case_sensitive else query.lower()
        buckets = self._buckets(vocab)
        if method == "bktree":
            if vocab not in self._bktrees:
                self._bktrees[vocab] = BKTree(self._usable(vocab))
            found: dict[int, list[int]] = {}
            for w, _ in self._bktrees[vocab].search(q, max_distance):
                found.setdefault(len(w), []).append(self._rows[vocab][w])
            return {n: np.asarray(r, dtype=np.int64) for n, r in found.items()}
        # words whose length differs by more than max_distance cannot be within it: scan only the
        # length buckets that can match (about 4x fewer words for delta = 3)
        out: dict[int, np.ndarray] = {}
        for n in range(max(1, len(q) - max_distance), len(q) + max_distance + 1):
            bucket = buckets.get(n)
            if bucket is not None:
                d = process.cdist(
                    [q], bucket.words, scorer=Levenshtein.distance, score_cutoff=max_distance, dtype=np.int32
                )[0]
                hits = np.flatnonzero(d <= max_distance)
                if hits.size:
                    out[n] = hits
        return out

    def _buckets(self, vocab: str) -> dict[int, _Bucket]:
        """Usable keys grouped by length, with their bound-table codes (cached per vocab)."""
        if vocab not in self._len_cache:
            by_len: dict[int, list[str]] = {}
            for w in self._usable(vocab):
                by_len.setdefault(len(w), []).append(w)
            index = {c: i for i, c in enumerate(vocab)}
            self._len_cache[vocab] = {n: _Bucket(ws, _encode(ws, index)) for n, ws in sorted(by_len.items())}
            self._rows[vocab] = {w: i for b in self._len_cache[vocab].values() for i, w in enumerate(b.words)}
        return self._len_cache[vocab]

    def keeps_reading(
        self, log_probs: torch.Tensor, raw_text: str, word_probability: float, vocab: str
    ) -> bool:
        """Open vocabulary only: whether the lexicon-free ``raw_text`` beats the best word's
        ``p(w|y)`` by more than ``1 / min_ratio`` (``p(l'|y)`` scored exactly, case-folded like
        the words unless ``case_sensitive``). Always False for a closed lexicon or an empty reading."""
        if self.min_ratio is None or not raw_text:
            return False
        if self.min_ratio <= 1 and raw_text in self:
            return False  # the reading is a candidate itself, so the best word is at least as probable
        raw = raw_text if self.case_sensitive else raw_text.lower()
        p_raw = math.exp(float(score_words(log_probs, [raw], vocab, case_sensitive=self.case_sensitive)[0]))
        return word_probability < self.min_ratio * p_raw

    def _method(self, n: int) -> str:
        if self.search_method != "auto":
            return self.search_method
        # measured at 50k words: the RapidFuzz scan is ~3x faster than the BK-tree (benchmarks/)
        return "scan" if n <= 200_000 else "bktree"

    def match(
        self,
        log_probs: torch.Tensor,
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
        buckets = self._buckets(vocab)
        if len(self._usable(vocab)) <= self.exhaustive_max:
            method = "exhaustive"
            rows = {n: np.arange(len(b.words)) for n, b in buckets.items()}
        else:
            method = self._method(len(self._usable(vocab)))
            delta = self.max_distance if max_distance is None else max_distance
            rows = self._candidate_rows(raw_text, delta, vocab, method)
        n_cands = sum(len(r) for r in rows.values())
        if n_cands == 0:
            return LexiconMatch(None, 0.0, 0, "none")
        lp = log_probs if self.case_sensitive else case_folded_log_probs(log_probs, vocab)
        table = count_upper_bounds(lp, _MAX_COUNT).ravel()
        words = [buckets[n].words[i] for n, r in rows.items() for i in r]
        bounds = np.concatenate([table[buckets[n].codes[r]].min(axis=1) for n, r in rows.items()])
        order = np.argsort(-bounds, kind="stable")
        best, best_word, scored, start, chunk = -np.inf, None, 0, 0, 32
        while start < len(order) and bounds[order[start]] + _BOUND_SLACK > best:
            idx = order[start : start + chunk]
            idx = idx[bounds[idx] + _BOUND_SLACK > best]
            scores = score_words(lp, [words[i] for i in idx], vocab, case_sensitive=True)
            scored += len(idx)
            j = int(torch.argmax(scores))
            if float(scores[j]) > best:
                best, best_word = float(scores[j]), words[idx[j]]
            start, chunk = start + chunk, chunk * 2
        if best_word is None:  # every candidate impossible (longer than the frames allow)
            return LexiconMatch(None, 0.0, n_cands, method, scored)
        word = self._spelling[best_word]
        if not self.case_sensitive:
            word = match_case(word, raw_text)
        return LexiconMatch(word, math.exp(best), n_cands, method, scored)


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


def score_words(
    log_probs: torch.Tensor, words: Sequence[str], vocab: str, *, case_sensitive: bool
) -> torch.Tensor:
    """Exact ``log p(word|y)`` of each word for one crop's ``(T, C)`` log-probs, in one CTC pass.

    Case-insensitive scoring merges each upper-case class into its lower-case class first, so the
    score sums the probabilities of every case variant of the word.
    """
    if not case_sensitive:
        log_probs = case_folded_log_probs(log_probs, vocab)
    index = {c: i for i, c in enumerate(vocab)}
    labels = [[index[c] for c in w] for w in words]
    return sequence_log_probs(log_probs, labels)


def read_lexicon_tsv(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Per-image lexicons: ``path<TAB>w1,w2,...`` lines (the benchmarks' ``lexicon50.tsv``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LexiconError(f"{path}: cannot read per-image lexicon file ({e.strerror or e})") from e
    out: dict[str, list[str]] = {}
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as e:
            raise LexiconError(f"{path}:{lineno}: not valid UTF-8 ({e.reason})") from e
        if not line.strip() or line.startswith("#"):
            continue
        if "\t" not in line:
            raise LexiconError(f"{path}:{lineno}: expected 'path<TAB>word1,word2,...'")
        key, words = line.split("\t", 1)
        out[key] = [w for w in words.split(",") if w.strip()]
    return out


def lexicons_for(lexicon: object, n: int) -> Lexicon | list[Lexicon | None]:
    """Check the ``lexicon=`` of a call on ``n`` inputs: one :class:`Lexicon` for all (or the name
    or file of one), or a list with one :class:`Lexicon` or ``None`` per input."""
    if isinstance(lexicon, (str, os.PathLike)):
        return Lexicon.load(lexicon)
    if isinstance(lexicon, Lexicon):
        return lexicon
    hint = "pass Lexicon(words) to use one word list for every input"
    if not isinstance(lexicon, Sequence):
        raise LexiconError(
            f"lexicon= takes a Lexicon, a lexicon name or file, or one Lexicon (or None) per input; "
            f"got a {type(lexicon).__name__}: {hint}"
        )
    lexs = list(lexicon)
    for i, x in enumerate(lexs):
        if x is not None and not isinstance(x, Lexicon):
            raise LexiconError(f"lexicon[{i}] is a {type(x).__name__}, not a Lexicon or None: {hint}")
    if len(lexs) != n:
        raise LexiconError(f"{len(lexs)} lexicons given for {n} inputs (one Lexicon or None per input)")
    return lexs


def apply_lexicon(
    recognizer: Recognizer,
    tensors: Sequence[torch.Tensor],
    lexicon: Lexicon | Sequence[Lexicon | None] | str | os.PathLike[str],
    items: Sequence[object] = (),
    *,
    max_distance: int | None = None,
) -> list[Prediction]:
    """Lexicon-based predictions for pre-processed crops (one lexicon for all, or one per crop);
    ``max_distance`` overrides each lexicon's own δ."""
    from .recognizer import Prediction

    checked = lexicons_for(lexicon, len(tensors))
    lexs = [checked] * len(tensors) if isinstance(checked, Lexicon) else checked
    vocab = recognizer.config.vocab
    out: list[Prediction] = []
    for (lp, dec), lex in zip(recognizer.log_probs_and_decode(tensors), lexs):
        if lex is None:
            out.append(Prediction(dec.text, dec.confidence, dec.char_confidences, raw_text=dec.text))
            continue
        m = lex.match(lp, dec.text, vocab, max_distance=max_distance)
        if m.word is not None and not lex.keeps_reading(lp, dec.text, m.probability, vocab):
            extra: dict[str, object] = {"candidates": m.candidates, "scored": m.scored, "method": m.method}
            out.append(
                Prediction(m.word, m.probability, (), raw_text=dec.text, lexicon_used=True, extra=extra)
            )
            continue
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
        out.append(
            Prediction(
                dec.text,
                dec.confidence,
                dec.char_confidences,
                raw_text=dec.text,
                lexicon_used=False,
                extra=extra,
            )
        )
    return out
