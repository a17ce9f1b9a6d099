"""``crnn-plugin recognize``: streaming, resumable folder recognition.

Pipeline: discover paths lazily -> decode and resize in a thread pool (one chunk ahead of the
model) -> batch by width -> write each chunk's rows in input order, flushed. Memory stays flat
however many files there are; an interrupted run leaves a valid output and ``--resume`` skips
every path already written.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from fnmatch import fnmatch
from pathlib import Path
from typing import IO, Any

from .errors import CRNNError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
    ".jp2",
}
FIELDS = ["path", "text", "confidence", "error"]


def iter_inputs(
    paths: Iterable[str], *, recursive: bool, pattern: str | None, stdin: IO[str] | None = None
) -> Iterator[str]:
    """Files named on the command line, images inside folders (sorted), or paths read from stdin.

    Files named explicitly are always yielded (so unreadable ones get an error row); inside
    folders only image suffixes (or ``pattern``) count. Symlink loops are not followed twice.
    """
    for p in paths:
        if p == "-":
            for line in stdin or sys.stdin:
                line = line.rstrip("\n")
                if line:
                    yield line
            continue
        if os.path.isdir(p):
            yield from _walk(p, recursive=recursive, pattern=pattern, seen=set())
        else:
            yield p


def _walk(folder: str, *, recursive: bool, pattern: str | None, seen: set[str]) -> Iterator[str]:
    real = os.path.realpath(folder)
    if real in seen:
        logger.warning("%s: symlink loop, not followed", folder)
        return
    seen.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        logger.warning("%s: cannot list folder (%s)", folder, e.strerror or e)
        return
    for entry in entries:
        path = os.path.join(folder, entry.name)
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if recursive:
                yield from _walk(path, recursive=recursive, pattern=pattern, seen=seen)
            continue
        if pattern is not None:
            if fnmatch(entry.name, pattern):
                yield path
        elif Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
            yield path


def _chunks(it: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for x in it:
        chunk.append(x)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Writer:
    """Writes result rows in one of the formats, one complete line per write, flushed per chunk."""

    def __init__(self, stream: IO[str], fmt: str, *, header: bool) -> None:
        self.stream, self.fmt = stream, fmt
        if fmt in ("csv", "tsv"):
            self._csv = csv.writer(stream, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
            if header:
                self._csv.writerow(FIELDS)

    def write(self, row: dict[str, Any]) -> None:
        try:
            self._write(row)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _OutputError(e.strerror or str(e)) from e

    def _write(self, row: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif self.fmt == "txt":
            self.stream.write((row.get("text") or "") + "\n")
        else:
            buf = io.StringIO()
            w = csv.writer(buf, delimiter="," if self.fmt == "csv" else "\t", lineterminator="\n")
            w.writerow([row["path"], row.get("text", ""), row.get("confidence", ""), row.get("error", "")])
            self.stream.write(buf.getvalue())

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _OutputError(e.strerror or str(e)) from e


class _OutputError(Exception):
    """Writing the results failed (disk full, device gone...): ends the run with exit 2."""


def done_paths(path: Path, fmt: str) -> set[str]:
    """Paths already read in an output file, for ``--resume``.

    A torn last line (killed run) is cut off first, and rows of inputs that could not be read are
    dropped from the file (rewritten in place, atomically), so that a resumed run tries those
    inputs again. Paths may contain any character (CSV quoting is honoured).
    """
    if not path.exists():
        return set()
    data = path.read_bytes()
    torn = bool(data) and not data.endswith(b"\n")  # the last record was cut off mid-write
    text = data.decode("utf-8", errors="replace")
    done: set[str] = set()
    failed = 0
    if fmt == "jsonl":
        keep = []
        lines = text.split("\n")[:-1]  # "\n" only: JSON leaves U+2028 and friends unescaped
        for line in (x + "\n" for x in lines):
            try:
                row = json.loads(line)
                p, bad = row["path"], bool(row.get("error"))
            except (json.JSONDecodeError, KeyError, TypeError):
                keep.append(line)
                continue
            failed += bad
            if not bad:
                done.add(p)
                keep.append(line)
        new = "".join(keep)
    else:
        delim = "," if fmt == "csv" else "\t"
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
        if torn and rows:  # a torn record may hold quoted newlines: drop it whole
            rows.pop()
        kept = []
        for i, row in enumerate(rows):
            if i == 0 and row == FIELDS:
                kept.append(row)
                continue
            if not row:
                continue
            bad = len(row) > 3 and bool(row[3])
            failed += bad
            if not bad:
                done.add(row[0])
                kept.append(row)
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim, lineterminator="\n").writerows(kept)
        new = buf.getvalue()
    if failed or torn:  # only then: a file that needs no repair is left byte for byte
        target = path.resolve()  # through a symlink, to the file itself
        tmp = target.with_name(target.name + ".resume-tmp")
        tmp.write_text(new, encoding="utf-8")
        shutil.copymode(target, tmp)
        os.replace(tmp, target)
    return done


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.output:
        suffix = Path(args.output).suffix.lower().lstrip(".")
        if suffix in ("csv", "tsv", "txt", "jsonl"):
            return suffix
        if suffix == "json":
            print(
                f"crnn-plugin: warning: {args.output} gets JSON Lines (one object per line), not one "
                "JSON document; name it .jsonl or pass --format to choose",
                file=sys.stderr,
            )
    return "jsonl"


def run_recognize(args: argparse.Namespace) -> int:
    """Run ``recognize``; returns 0 when every input was read, 1 when some failed."""
    from .cli import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, _recognizer
    from .recognizer import Prediction

    fmt = _format(args)
    if args.resume and (not args.output or fmt == "txt"):
        print("crnn-plugin: error: --resume needs --output in jsonl, csv or tsv format", file=sys.stderr)
        return EXIT_USAGE
    if args.workers is not None and args.workers < 1:
        print("crnn-plugin: error: --workers must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    if args.batch_size is not None and args.batch_size < 1:
        print("crnn-plugin: error: --batch-size must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    if args.beam_width is not None and args.beam_width < 1:
        print("crnn-plugin: error: --beam-width must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    rec = _recognizer(args)
    if args.beam_width:
        rec.beam_width = args.beam_width
    lexicon_for = _lexicon_lookup(args, rec)

    skip: set[str] = set()
    out_path = Path(args.output) if args.output else None
    if out_path is not None:
        try:  # an output that cannot be written is found before any crop is read
            if args.resume:
                skip = done_paths(out_path, fmt)
            existing = out_path.exists() and out_path.stat().st_size > 0
            mode = "a" if args.resume else "w"
            stream: IO[str] = open(out_path, mode, encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        except OSError as e:
            print(f"crnn-plugin: error: cannot write {out_path}: {e.strerror or e}", file=sys.stderr)
            return EXIT_USAGE
        writer = Writer(stream, fmt, header=not (args.resume and existing))
    else:
        stream = sys.stdout
        writer = Writer(stream, fmt, header=True)

    inputs = (
        p for p in iter_inputs(args.paths, recursive=args.recursive, pattern=args.glob) if p not in skip
    )
    chunk_size = max(rec.batch_size * 4, 64)
    progress = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        progress = tqdm(unit="crop", file=sys.stderr, dynamic_ncols=True)
    failed = seen = 0
    old_term = signal.getsignal(signal.SIGTERM)

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)

    try:
        with ThreadPoolExecutor(max_workers=rec.workers) as pool:
            chunks = _chunks(inputs, chunk_size)
            pending: list[tuple[list[str], list[Future[Any]]]] = []

            def submit_next() -> None:
                nxt = next(chunks, None)
                if nxt is not None:
                    pending.append((nxt, [pool.submit(rec.try_prepare, p) for p in nxt]))

            submit_next()
            while pending:
                paths, futures = pending.pop(0)
                submit_next()  # decode the next chunk while the model runs on this one
                prepared = [f.result() for f in futures]
                ok = [i for i, x in enumerate(prepared) if isinstance(x, list)]
                preds: dict[int, Prediction] = {}
                if ok:
                    lexs = [lexicon_for(paths[i]) for i in ok] if lexicon_for is not None else None
                    variants = [prepared[i] for i in ok]
                    res = rec.predict_prepared(variants, lexicon=lexs)
                    preds = dict(zip(ok, res))
                for i, path in enumerate(paths):
                    if i in preds:
                        p = preds[i]
                        row: dict[str, Any] = {
                            "path": path,
                            "text": p.text,
                            "confidence": round(p.confidence, 4),
                        }
                        if p.lexicon_used or p.raw_text is not None:
                            row["raw_text"] = p.raw_text
                            row["lexicon_used"] = p.lexicon_used
                    else:
                        failed += 1
                        row = {"path": path, "text": None, "confidence": None, "error": str(prepared[i])}
                    writer.write(row)
                writer.flush()
                seen += len(paths)
                if progress is not None:
                    progress.update(len(paths))
    except KeyboardInterrupt:
        writer.flush()
        print("crnn-plugin: interrupted; finished results were written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `crnn-plugin recognize DIR | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except _OutputError as e:
        print(f"crnn-plugin: error: cannot write {out_path or 'stdout'}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except CRNNError:
        raise
    finally:
        signal.signal(signal.SIGTERM, old_term)
        if progress is not None:
            progress.close()
        if out_path is not None:
            with contextlib.suppress(OSError):  # a failed write was reported above
                stream.close()
    if isinstance(lexicon_for, _PerImageLexicons):
        lexicon_for.report()
    if seen == 0 and not skip:
        where = " ".join(args.paths) + (f" (--glob {args.glob})" if args.glob else "")
        print(f"crnn-plugin: warning: no input images found in {where}", file=sys.stderr)
    if failed:
        print(f"crnn-plugin: {failed} input(s) could not be read (see their error rows)", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def _lexicon_lookup(args: argparse.Namespace, rec: Any) -> Any:
    """A function path -> Lexicon for ``--lexicon`` / ``--lexicon-per-image``, or None."""
    if not args.lexicon and not args.lexicon_per_image:
        if args.lexicon_min_ratio is not None:
            raise CRNNError("--lexicon-min-ratio needs --lexicon or --lexicon-per-image")
        return None
    from .lexicon import Lexicon

    if args.lexicon and args.lexicon_per_image:
        raise CRNNError("use either --lexicon or --lexicon-per-image, not both")
    ratio, delta = args.lexicon_min_ratio, args.lexicon_max_distance
    if args.lexicon:  # read and indexed once, now (progress on stderr for big lists)
        lex = Lexicon.load(args.lexicon, min_ratio=ratio, max_distance=delta, progress=not args.quiet)
        lex.check_vocab(rec.config.vocab)
        return lambda path: lex
    return _PerImageLexicons(Path(args.lexicon_per_image), rec.config.vocab, ratio, delta)


class _PerImageLexicons:
    """path -> Lexicon from a ``path<TAB>w1,w2,...`` file; every entry is checked up front (errors
    name the file and the entry) and inputs without an entry are counted (read lexicon-free)."""

    def __init__(self, tsv: Path, vocab: str, min_ratio: float | None, max_distance: int = 3) -> None:
        from .lexicon import Lexicon, read_lexicon_tsv

        self.tsv = tsv
        self.table: dict[str, Lexicon] = {}
        for key, words in read_lexicon_tsv(tsv).items():
            lex = Lexicon(words, name=f"{tsv}: entry {key!r}", min_ratio=min_ratio, max_distance=max_distance)
            lex.check_vocab(vocab)  # raises now, not mid-run, if no word can be written
            self.table[key] = lex
        self.hits = self.misses = 0

    def __call__(self, path: str) -> Any:
        for key in (path, os.path.relpath(path, self.tsv.parent), Path(path).name):
            if key in self.table:
                self.hits += 1
                return self.table[key]
        self.misses += 1
        return None

    def report(self) -> None:
        """Say on stderr how many inputs had no entry (they were read without a lexicon)."""
        if self.misses:
            print(
                f"crnn-plugin: warning: {self.misses} of {self.hits + self.misses} input(s) have no entry "
                f"in {self.tsv} and were read without a lexicon",
                file=sys.stderr,
            )
