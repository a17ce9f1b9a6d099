"""Lexicon-based transcription (Section 2.3 of Shi et al.): pick ``argmax_l p(l|y)`` over a lexicon.

Small lexicons are scored exhaustively. Large ones are first narrowed to the nearest neighbours
``N_delta(l')`` of the lexicon-free output ``l'`` (Levenshtein distance <= ``max_distance``), with a
vectorised RapidFuzz scan (behind a bag-of-characters filter above 200k words) or a BK-tree, and
every candidate is then scored exactly by CTC. The words are indexed once, when the lexicon is
built. A line reading (a vocab with the space) is matched word by word.
"""

from __future__ import annotations

import copy
import logging
import math
import operator
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .ctc import Decoded, case_folded_log_probs, count_upper_bounds, sequence_log_probs
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
    "word_spans",
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
#: ``search="auto"``: lexicons up to this many usable words are scanned whole, larger ones through
#: the bag-of-characters filter (a BK-tree in Python took 157 s to build at 5M words).
_FILTER_MIN = 200_000
#: ``progress=True`` shows a bar for lexicons of at least this many lines.
_PROGRESS_MIN = 1_000_000
_CHUNK = 250_000
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class _Bucket:
    """The lexicon's keys of one length ``n``, indexed once whatever the model's vocab:

    ``base`` ``(N, n)``: ``alphabet_id * _MAX_COUNT + (occurrence - 1)`` of each character (the
    bound table's layout, up to the vocab's class ids); ``bag`` ``(N,)``: a 64-bit set of
    (character, occurrence 1 or 2) pairs, hashed, for the candidate filter."""

    words: list[str]
    base: np.ndarray
    bag: np.ndarray


@dataclass(frozen=True)
class _VocabIndex:
    """What one model vocab needs: base code -> bound-table code (-1: not writable) and the usable
    rows of each bucket."""

    codes: np.ndarray
    usable: dict[int, np.ndarray]
    count: int


def _occurrences(ids: np.ndarray) -> np.ndarray:
    """``(N, n)`` occurrence number - 1 of each character in its word, capped at ``_MAX_COUNT - 1``
    (column by column, counting each row's characters so far; rows in blocks of bounded memory)."""
    n_rows, n = ids.shape
    size = int(ids.max(initial=0)) + 1
    occ = np.empty(ids.shape, dtype=np.uint8)
    step = max(1, (1 << 24) // size)
    for lo in range(0, n_rows, step):
        block = ids[lo : lo + step]
        counts = np.zeros(len(block) * size, dtype=np.uint8)
        row = np.arange(len(block)) * size
        for j in range(n):
            at = row + block[:, j]
            seen = counts[at]
            occ[lo : lo + step, j] = seen
            counts[at] = np.minimum(seen + 1, _MAX_COUNT - 1)
    return occ


def _bags(base: np.ndarray) -> np.ndarray:
    """``(N,)`` uint64 bag of (character, first or later occurrence) pairs of each row, hashed to
    64 bits."""
    codes = np.arange(int(base.max(initial=0)) + 1)
    pair = (codes // _MAX_COUNT) * 2 + (codes % _MAX_COUNT > 0)
    bit_of = np.left_shift(np.uint64(1), (pair % 64).astype(np.uint64))
    bag = np.zeros(base.shape[0], dtype=np.uint64)
    for j in range(base.shape[1]):
        bag |= bit_of[base[:, j]]
    return bag


def _bag_of(base_row: np.ndarray) -> np.uint64:
    return _bags(base_row.reshape(1, -1))[0]


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
        with _progress(len(words), f"lexicon {self.name}: indexing {len(words):,} words", progress) as bar:
            self._spelling = self._dedupe(words, bar)
            if not self._spelling:
                raise LexiconError(f"{self.name}: the lexicon is empty")
            self._keys = list(self._spelling)  # matching keys (lower-cased unless case_sensitive)
            bar.retotal(len(words) + len(self._keys))
            self._buckets, self._alphabet = _index(self._keys, bar)
        self._by_vocab: dict[str, _VocabIndex] = {}
        self._bktrees: dict[str, BKTree] = {}
        self._row_of: dict[str, int] | None = None

    def _dedupe(self, words: list[str], bar: _Bar) -> dict[str, str]:
        """Matching key -> spelling, in first-seen order; "may" over "May" when a list has both."""
        seen: dict[str, str] = {}
        for start in range(0, len(words), _CHUNK):
            chunk = words[start : start + _CHUNK]
            bad = next((w for w in chunk if not isinstance(w, str)), None)
            if bad is not None:
                raise LexiconError(f"{self.name}: words must be strings, got {type(bad).__name__}")
            stripped = [w.strip() for w in chunk]
            if _SPACE.search("".join(stripped)):  # one regex pass per chunk, not one per word
                i = next(i for i, w in enumerate(stripped) if _SPACE.search(w))
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
        words = _read_lines(data, label, progress)
        return cls(words, name=label, progress=progress, **kwargs)  # type: ignore[arg-type]

    def check_vocab(self, vocab: str) -> None:
        """Index the lexicon for ``vocab`` (a model's characters) now; raise
        :class:`LexiconError` if no word can be written with it (words that use other characters
        are skipped with a warning)."""
        self._for_vocab(vocab)

    def _for_vocab(self, vocab: str) -> _VocabIndex:
        """The lexicon indexed for ``vocab``, built once (a few vectorised passes)."""
        if vocab in self._by_vocab:
            return self._by_vocab[vocab]
        cls_of = {c: i for i, c in enumerate(vocab)}
        if not self.case_sensitive:  # a lower-case key is written with the upper-case class too
            for c in vocab:
                cls_of.setdefault(c.lower(), cls_of[c])
        codes = np.full(len(self._alphabet) * _MAX_COUNT, -1, dtype=np.int64)
        for a, ch in enumerate(self._alphabet):
            if ch in cls_of:
                codes[a * _MAX_COUNT : (a + 1) * _MAX_COUNT] = cls_of[ch] * _MAX_COUNT + np.arange(_MAX_COUNT)
        usable = {n: (codes[b.base] >= 0).all(axis=1) for n, b in self._buckets.items()}
        count = int(sum(int(u.sum()) for u in usable.values()))
        if count < len(self._keys):
            logger.warning(
                "%s: %d of %d words use characters outside the model's vocab and are skipped",
                self.name,
                len(self._keys) - count,
                len(self._keys),
            )
        if not count:
            raise LexiconError(f"{self.name}: no word can be written with the model's vocab")
        self._by_vocab[vocab] = _VocabIndex(codes, usable, count)
        return self._by_vocab[vocab]

    def _usable(self, vocab: str) -> list[str]:
        """Matching keys spellable in ``vocab``, by length (words with other characters skipped)."""
        usable = self._for_vocab(vocab).usable
        return [w for n, b in self._buckets.items() for w, ok in zip(b.words, usable[n].tolist()) if ok]

    def candidates(
        self, query: str, max_distance: int, vocab: str, *, method: str | None = None
    ) -> list[str]:
        """Keys within Levenshtein distance ``max_distance`` of ``query`` (BK-tree, RapidFuzz scan,
        or scan of the words that pass the bag-of-characters filter)."""
        method = method or self._method(self._for_vocab(vocab).count)
        rows = self._candidate_rows(query, max_distance, vocab, method)
        return [self._buckets[n].words[i] for n, r in rows.items() for i in r]

    def _candidate_rows(
        self, query: str, max_distance: int, vocab: str, method: str
    ) -> dict[int, np.ndarray]:
        """Candidates as row indices into the length buckets: ``{length: rows}``."""
        q = query if self.case_sensitive else query.lower()
        index = self._for_vocab(vocab)
        if method == "bktree":
            if vocab not in self._bktrees:
                self._bktrees[vocab] = BKTree(self._usable(vocab))
            if self._row_of is None:
                self._row_of = {w: i for b in self._buckets.values() for i, w in enumerate(b.words)}
            found: dict[int, list[int]] = {}
            for w, _ in self._bktrees[vocab].search(q, max_distance):
                found.setdefault(len(w), []).append(self._row_of[w])
            return {n: np.asarray(r, dtype=np.int64) for n, r in found.items()}
        bag = self._query_bag(q) if method == "filter" else None
        # words whose length differs by more than max_distance cannot be within it: scan only the
        # length buckets that can match (about 4x fewer words for delta = 3)
        out: dict[int, np.ndarray] = {}
        for n in range(max(1, len(q) - max_distance), len(q) + max_distance + 1):
            bucket = self._buckets.get(n)
            if bucket is None:
                continue
            rows, choices = None, bucket.words
            if bag is not None:
                rows = _bag_filter(bucket.bag, bag, max_distance)
                choices = [bucket.words[i] for i in rows.tolist()]
            if not choices:
                continue
            d = process.cdist(
                [q], choices, scorer=Levenshtein.distance, score_cutoff=max_distance, dtype=np.int32
            )[0]
            hits = np.flatnonzero(d <= max_distance)
            if rows is not None:
                hits = rows[hits]
            hits = hits[index.usable[n][hits]]
            if hits.size:
                out[n] = hits
        return out

    def _query_bag(self, q: str) -> np.uint64 | None:
        """The query's bag in the lexicon's alphabet (characters the lexicon lacks count as one
        shared extra character, which only weakens the filter), or None for an empty query."""
        if not q:
            return None
        ids = {c: i for i, c in enumerate(self._alphabet)}
        extra = len(self._alphabet)
        a = np.array([[ids.get(c, extra) for c in q]], dtype=np.int64)
        return _bag_of(a * _MAX_COUNT + _occurrences(a))

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
        # measured at 50k words: the RapidFuzz scan is ~3x faster than the BK-tree (benchmarks/);
        # at 5M words the bag filter first keeps about 1 word in 10 (README, Lexicons)
        return "scan" if n <= _FILTER_MIN else "filter"

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
        index = self._for_vocab(vocab)
        buckets = self._buckets
        if index.count <= self.exhaustive_max:
            method = "exhaustive"
            rows = {n: np.flatnonzero(u) for n, u in index.usable.items() if u.any()}
        else:
            method = self._method(index.count)
            delta = self.max_distance if max_distance is None else max_distance
            rows = self._candidate_rows(raw_text, delta, vocab, method)
        n_cands = sum(len(r) for r in rows.values())
        if n_cands == 0:
            return LexiconMatch(None, 0.0, 0, "none")
        lp = log_probs if self.case_sensitive else case_folded_log_probs(log_probs, vocab)
        table = count_upper_bounds(lp, _MAX_COUNT).ravel()
        words = [buckets[n].words[i] for n, r in rows.items() for i in r]
        bounds = np.concatenate([table[index.codes[buckets[n].base[r]]].min(axis=1) for n, r in rows.items()])
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


def _check_min_ratio(name: str, min_ratio: float | None) -> None:
    if min_ratio is not None and not (min_ratio >= 0.0 and math.isfinite(min_ratio)):
        raise LexiconError(f"{name}: min_ratio must be a finite number >= 0, got {min_ratio}")


def _bag_filter(bags: np.ndarray, query_bag: np.uint64, max_distance: int) -> np.ndarray:
    """Rows whose bag can be within ``max_distance`` edits of the query's: an edit adds at most one
    (character, occurrence) pair and removes at most one, so both set differences must be small
    (hash collisions only shrink them: no word within the distance is ever dropped)."""
    extra = np.bitwise_count(bags & ~query_bag)
    missing = np.bitwise_count(query_bag & ~bags)
    return np.flatnonzero((extra <= max_distance) & (missing <= max_distance))


def _index(keys: list[str], bar: _Bar) -> tuple[dict[int, _Bucket], str]:
    """Keys grouped by length, each bucket encoded once (see :class:`_Bucket`); also returns the
    lexicon's alphabet (alphabet id -> character)."""
    lens = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    order = np.argsort(lens, kind="stable")
    objs = np.empty(len(keys), dtype=object)
    objs[:] = keys
    alphabet_of = np.full(0x110000, -1, dtype=np.int32)  # code point -> alphabet id
    alphabet: list[str] = []
    buckets: dict[int, _Bucket] = {}
    bounds = np.flatnonzero(np.diff(lens[order])) + 1
    for idx in np.split(order, bounds):
        n = int(lens[idx[0]])
        words = objs[idx].tolist()
        cps = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).reshape(len(words), n)
        new = np.flatnonzero((np.bincount(cps.ravel(), minlength=1) > 0) & (alphabet_of[: cps.max() + 1] < 0))
        alphabet_of[new] = np.arange(len(alphabet), len(alphabet) + len(new))
        alphabet += [chr(c) for c in new.tolist()]
        ids = alphabet_of[cps]
        base = ids * _MAX_COUNT + _occurrences(ids)
        dtype = np.uint16 if len(alphabet) * _MAX_COUNT < 1 << 16 else np.uint32
        base = base.astype(dtype)
        buckets[n] = _Bucket(words, base, _bags(base))
        bar.update(len(words))
    return buckets, "".join(alphabet)


class _Bar:
    """Progress of a long load on stderr: a tqdm bar on a terminal, else one line when it starts
    and one when it ends."""

    def __init__(self, total: int, desc: str, show: bool) -> None:
        self._tqdm = None
        self._t0: float | None = None
        self._desc = desc
        if not show:
            return
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, desc=desc, unit_scale=True, file=sys.stderr)
        else:
            print(f"{desc}...", file=sys.stderr, flush=True)
            self._t0 = time.perf_counter()

    def update(self, n: int) -> None:
        if self._tqdm is not None:
            self._tqdm.update(n)

    def retotal(self, total: int) -> None:
        if self._tqdm is not None:
            self._tqdm.total = total
            self._tqdm.refresh()

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._t0 is not None and exc[0] is None:
            print(
                f"{self._desc}: done in {time.perf_counter() - self._t0:.1f} s", file=sys.stderr, flush=True
            )


def _progress(n_words: int, desc: str, progress: bool) -> _Bar:
    """Progress over two passes of ``n_words`` (shown only when ``progress`` and the list is big)."""
    return _Bar(2 * n_words, desc, progress and n_words >= _PROGRESS_MIN)


def _read_lines(data: bytes, label: str, progress: bool) -> list[str]:
    """The words of a lexicon file's bytes: stripped lines, blank and ``#`` lines skipped; errors
    (not UTF-8, NUL byte, whitespace inside a word) name the file and line."""
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if nul < 0 or nul > e.start:
            line = data.count(b"\n", 0, e.start) + 1
            raise LexiconError(f"{label}:{line}: not valid UTF-8 ({e.reason})") from e
        text = ""
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise LexiconError(f"{label}:{line}: contains a NUL byte (binary file?)")
    lines = text.split("\n")
    words: list[str] = []
    desc = f"lexicon {label}: reading {len(lines):,} lines"
    with _Bar(len(lines), desc, progress and len(lines) >= _PROGRESS_MIN) as bar:
        for start in range(0, len(lines), _CHUNK):
            chunk = [w.lstrip("\ufeff") for w in map(str.strip, lines[start : start + _CHUNK])]
            kept = [w for w in chunk if w and w[0] != "#"]
            if _SPACE.search("".join(kept)):
                i = next(i for i, w in enumerate(chunk) if w and w[0] != "#" and _SPACE.search(w))
                raise LexiconError(
                    f"{label}:{start + i + 1}: {chunk[i]!r} contains whitespace: a lexicon word is one "
                    "word (a line reading is matched word by word)"
                )
            words += kept
            bar.update(len(lines[start : start + _CHUNK]))
    return words


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
    """Per-image lexicons: ``path<TAB>w1,w2,...`` lines (the benchmarks' ``lexicon50.tsv``).

    Errors name the file and line: a line without a tab, a word with whitespace inside, or a key
    already given on an earlier line (named too).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LexiconError(f"{path}: cannot read per-image lexicon file ({e.strerror or e})") from e
    out: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
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
        if key in first_line:
            raise LexiconError(
                f"{path}:{lineno}: {key!r} already has a lexicon on line {first_line[key]} "
                "(one line per image)"
            )
        stripped = [w.strip() for w in words.split(",")]
        spaced = next((w for w in stripped if _SPACE.search(w)), None)
        if spaced is not None:
            raise LexiconError(
                f"{path}:{lineno}: {spaced!r} contains whitespace: a lexicon word is one word "
                "(a line reading is matched word by word)"
            )
        first_line[key] = lineno
        out[key] = [w for w in stripped if w]
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
    ``max_distance`` overrides each lexicon's own δ.

    A reading with spaces (a line, from a model whose vocab has the space) is matched word by word:
    its frames are cut where the space class is the most likely one, each stretch between is
    matched like a word crop (its own reading, its own frames), and the line is the words joined
    by single spaces, its confidence the exact ``p(line|y)`` over all frames (case-folded like the
    words). ``extra["words"]`` tells each word's reading and outcome.
    """
    from .recognizer import Prediction

    checked = lexicons_for(lexicon, len(tensors))
    lexs = [checked] * len(tensors) if isinstance(checked, Lexicon) else checked
    vocab = recognizer.config.vocab
    out: list[Prediction] = []
    for (lp, dec), lex in zip(recognizer.log_probs_and_decode(tensors), lexs):
        if lex is None:
            out.append(Prediction(dec.text, dec.confidence, dec.char_confidences, raw_text=dec.text))
        elif " " in dec.text and " " in vocab:
            out.append(_match_line(lex, lp, dec, vocab, max_distance))
        else:
            out.append(_match_word(lex, lp, dec, vocab, max_distance))
    return out


def _match_word(
    lex: Lexicon, lp: torch.Tensor, dec: Decoded, vocab: str, max_distance: int | None
) -> Prediction:
    """One word crop: the lexicon word, or the reading with the reason in ``extra``."""
    from .recognizer import Prediction

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


def word_spans(log_probs: torch.Tensor, vocab: str) -> list[tuple[int, int, str]]:
    """``(start, end, reading)`` of each word of a line: the stretches of frames between frames
    whose most likely class is the space (blank last), with the best-path reading of each; empty
    stretches are left out. Joined by single spaces the readings are the line's best path."""
    space, blank = vocab.index(" "), len(vocab)
    best = log_probs.argmax(-1).tolist()
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


def _match_line(
    lex: Lexicon, lp: torch.Tensor, dec: Decoded, vocab: str, max_distance: int | None
) -> Prediction:
    """A line reading, matched word by word (see :func:`apply_lexicon`)."""
    from .recognizer import Prediction

    words: list[str] = []
    details: list[dict[str, object]] = []
    for start, end, reading in word_spans(lp, vocab):
        p = _match_word(lex, lp[start:end], Decoded(reading, 0.0, ()), vocab, max_distance)
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
