"""Lexicon files: word lists (one word a line, shipped or yours), per-image lexicons
(``path<TAB>w1,w2,...``), and progress on stderr while a big list loads.

Every error names the file and line.
"""

from __future__ import annotations

import os
import re
import sys
import time
from importlib.resources import files
from pathlib import Path

from .errors import LexiconError

__all__ = ["SHIPPED_LEXICONS", "read_source", "read_lines", "read_lexicon_tsv", "progress_bar"]

#: Lexicons shipped with the package, by name.
SHIPPED_LEXICONS = {"en-50k": "en_50k.txt"}
#: ``progress=True`` shows a bar for lexicons of at least this many lines.
PROGRESS_MIN = 1_000_000
#: Words are checked and indexed in chunks of this many (one regex pass per chunk).
CHUNK = 250_000
SPACE = re.compile(r"\s")


def read_source(source: str | os.PathLike[str]) -> tuple[bytes, str]:
    """The bytes of a shipped lexicon (by name, ``"en-50k"``) or of a file, and its label."""
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
    return data, label


def read_lines(data: bytes, label: str, progress: bool) -> list[str]:
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
    with Bar(len(lines), desc, progress and len(lines) >= PROGRESS_MIN) as bar:
        for start in range(0, len(lines), CHUNK):
            chunk = [w.lstrip("\ufeff") for w in map(str.strip, lines[start : start + CHUNK])]
            kept = [w for w in chunk if w and w[0] != "#"]
            if SPACE.search("".join(kept)):
                i = next(i for i, w in enumerate(chunk) if w and w[0] != "#" and SPACE.search(w))
                raise LexiconError(
                    f"{label}:{start + i + 1}: {chunk[i]!r} contains whitespace: a lexicon word is one "
                    "word (a line reading is matched word by word)"
                )
            words += kept
            bar.update(len(lines[start : start + CHUNK]))
    return words


class Bar:
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

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._t0 is not None and exc[0] is None:
            print(
                f"{self._desc}: done in {time.perf_counter() - self._t0:.1f} s", file=sys.stderr, flush=True
            )


def progress_bar(n_words: int, desc: str, progress: bool) -> Bar:
    """Progress over two passes of ``n_words`` (shown only when ``progress`` and the list is big)."""
    return Bar(2 * n_words, desc, progress and n_words >= PROGRESS_MIN)


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
        spaced = next((w for w in stripped if SPACE.search(w)), None)
        if spaced is not None:
            raise LexiconError(
                f"{path}:{lineno}: {spaced!r} contains whitespace: a lexicon word is one word "
                "(a line reading is matched word by word)"
            )
        first_line[key] = lineno
        out[key] = [w for w in stripped if w]
    return out
