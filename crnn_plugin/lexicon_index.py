"""The word index of a lexicon: words by length, encoded once, and the search for the words near a
reading.

Each length bucket holds its words as ``(N, n)`` codes (character and occurrence number, the
layout of the CTC count bound table) and 64-bit bags of characters. Per model vocabulary, a
small table maps the codes to classes. The search for the words within Levenshtein distance δ of
a reading scans only the buckets of lengths within δ, with RapidFuzz (behind the bag filter for
big lists), or walks a BK-tree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .errors import LexiconError
from .lexicon_io import Bar

__all__ = ["BKTree", "WordIndex", "MAX_COUNT"]

logger = logging.getLogger(__name__)

#: Occurrence counts tracked by the upper bound (``ctc.count_upper_bounds``).
MAX_COUNT = 3


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
class _Bucket:
    """The lexicon's keys of one length ``n``, indexed once whatever the model's vocab:

    ``base`` ``(N, n)``: ``alphabet_id * MAX_COUNT + (occurrence - 1)`` of each character (the
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
    """``(N, n)`` occurrence number - 1 of each character in its word, capped at ``MAX_COUNT - 1``
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
            counts[at] = np.minimum(seen + 1, MAX_COUNT - 1)
    return occ


def _bags(base: np.ndarray) -> np.ndarray:
    """``(N,)`` uint64 bag of (character, first or later occurrence) pairs of each row, hashed to
    64 bits."""
    codes = np.arange(int(base.max(initial=0)) + 1)
    pair = (codes // MAX_COUNT) * 2 + (codes % MAX_COUNT > 0)
    bit_of = np.left_shift(np.uint64(1), (pair % 64).astype(np.uint64))
    bag = np.zeros(base.shape[0], dtype=np.uint64)
    for j in range(base.shape[1]):
        bag |= bit_of[base[:, j]]
    return bag


def _bag_of(base_row: np.ndarray) -> np.uint64:
    return _bags(base_row.reshape(1, -1))[0]


def _bag_filter(bags: np.ndarray, query_bag: np.uint64, max_distance: int) -> np.ndarray:
    """Rows whose bag can be within ``max_distance`` edits of the query's: an edit adds at most one
    (character, occurrence) pair and removes at most one, so both set differences must be small
    (hash collisions only shrink them: no word within the distance is ever dropped)."""
    extra = np.bitwise_count(bags & ~query_bag)
    missing = np.bitwise_count(query_bag & ~bags)
    return np.flatnonzero((extra <= max_distance) & (missing <= max_distance))


def build_index(keys: list[str], bar: Bar) -> tuple[dict[int, _Bucket], str]:
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
        base = ids * MAX_COUNT + _occurrences(ids)
        dtype = np.uint16 if len(alphabet) * MAX_COUNT < 1 << 16 else np.uint32
        base = base.astype(dtype)
        buckets[n] = _Bucket(words, base, _bags(base))
        bar.update(len(words))
    return buckets, "".join(alphabet)


class WordIndex:
    """A lexicon's matching keys, indexed once (:func:`build_index`), with per-vocab tables and
    the candidate search. ``case_sensitive=False``: the keys are lower case and a key's letter is
    also written by the vocab's upper-case class."""

    def __init__(self, keys: list[str], *, case_sensitive: bool, name: str, bar: Bar) -> None:
        self.case_sensitive = case_sensitive
        self.name = name
        self.size = len(keys)
        self.buckets, self.alphabet = build_index(keys, bar)
        self._by_vocab: dict[str, _VocabIndex] = {}
        self._bktrees: dict[str, BKTree] = {}
        self._row_of: dict[str, int] | None = None

    def for_vocab(self, vocab: str) -> _VocabIndex:
        """The lexicon indexed for ``vocab``, built once (a few vectorised passes)."""
        if vocab in self._by_vocab:
            return self._by_vocab[vocab]
        cls_of = {c: i for i, c in enumerate(vocab)}
        if not self.case_sensitive:  # a lower-case key is written with the upper-case class too
            for c in vocab:
                cls_of.setdefault(c.lower(), cls_of[c])
        codes = np.full(len(self.alphabet) * MAX_COUNT, -1, dtype=np.int64)
        for a, ch in enumerate(self.alphabet):
            if ch in cls_of:
                codes[a * MAX_COUNT : (a + 1) * MAX_COUNT] = cls_of[ch] * MAX_COUNT + np.arange(MAX_COUNT)
        usable = {n: (codes[b.base] >= 0).all(axis=1) for n, b in self.buckets.items()}
        count = int(sum(int(u.sum()) for u in usable.values()))
        if count < self.size:
            logger.warning(
                "%s: %d of %d words use characters outside the model's vocab and are skipped",
                self.name,
                self.size - count,
                self.size,
            )
        if not count:
            raise LexiconError(f"{self.name}: no word can be written with the model's vocab")
        self._by_vocab[vocab] = _VocabIndex(codes, usable, count)
        return self._by_vocab[vocab]

    def usable_words(self, vocab: str) -> list[str]:
        """Matching keys spellable in ``vocab``, by length (words with other characters skipped)."""
        usable = self.for_vocab(vocab).usable
        return [w for n, b in self.buckets.items() for w, ok in zip(b.words, usable[n].tolist()) if ok]

    def candidate_rows(self, q: str, max_distance: int, vocab: str, method: str) -> dict[int, np.ndarray]:
        """Keys within Levenshtein distance ``max_distance`` of ``q`` (a matching key: lower case
        unless case-sensitive) as row indices into the length buckets, ``{length: rows}``: by
        BK-tree, RapidFuzz scan, or scan of the words that pass the bag-of-characters filter
        (``method``)."""
        index = self.for_vocab(vocab)
        if method == "bktree":
            if vocab not in self._bktrees:
                self._bktrees[vocab] = BKTree(self.usable_words(vocab))
            if self._row_of is None:
                self._row_of = {w: i for b in self.buckets.values() for i, w in enumerate(b.words)}
            found: dict[int, list[int]] = {}
            for w, _ in self._bktrees[vocab].search(q, max_distance):
                found.setdefault(len(w), []).append(self._row_of[w])
            return {n: np.asarray(r, dtype=np.int64) for n, r in found.items()}
        bag = self._query_bag(q) if method == "filter" else None
        # words whose length differs by more than max_distance cannot be within it: scan only the
        # length buckets that can match (about 4x fewer words for delta = 3)
        out: dict[int, np.ndarray] = {}
        for n in range(max(1, len(q) - max_distance), len(q) + max_distance + 1):
            bucket = self.buckets.get(n)
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
        ids = {c: i for i, c in enumerate(self.alphabet)}
        extra = len(self.alphabet)
        a = np.array([[ids.get(c, extra) for c in q]], dtype=np.int64)
        return _bag_of(a * MAX_COUNT + _occurrences(a))

    def words_and_bounds(
        self, rows: dict[int, np.ndarray], vocab: str, table: np.ndarray
    ) -> tuple[list[str], np.ndarray]:
        """The keys at ``rows`` and each one's upper bound on ``log p(key|y)``: the minimum over its
        characters of ``table`` (``count_upper_bounds``, raveled) at the character's class and
        occurrence number."""
        codes = self.for_vocab(vocab).codes
        words = [self.buckets[n].words[i] for n, r in rows.items() for i in r]
        bounds = np.concatenate([table[codes[self.buckets[n].base[r]]].min(axis=1) for n, r in rows.items()])
        return words, bounds
