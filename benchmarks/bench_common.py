"""Helpers shared by the benchmark driver and the peer workers (standard library only).

This module is imported from two virtual environments (the project's and the peers'), so it must
not import ``crnn_plugin``, torch or anything outside the standard library.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import resource
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

__all__ = [
    "SETS",
    "normalize36",
    "normalize_line",
    "score_texts",
    "case_sensitive_labels",
    "read_labels",
    "Timing",
    "summarize",
    "training_pids",
    "paused_training",
    "resume_training",
    "rss_kib",
]

logger = logging.getLogger("benchmarks")

# Same rule as crnn_plugin.evaluate.normalize36, copied so that peers do not import our package.
_NOT36 = re.compile(r"[^a-z0-9]")

#: Accuracy sets of the benchmark and their kind: ``word`` (36-class and case-sensitive word
#: accuracy) or ``line`` (caseless exact line match and character error rate).
SETS: dict[str, str] = {
    "iiit5k_test": "word",
    "svt_test": "word",
    "svtp_test": "word",
    "sroie_lines_val": "line",
}

#: argv element that identifies the background training processes.
TRAIN_MODULE = "crnn_plugin.train"


def dist_version(dist: str) -> str:
    """Installed version of a distribution, ``"?"`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def normalize36(text: str) -> str:
    """The 36-class protocol: lower-case, keep only a-z and 0-9."""
    return _NOT36.sub("", text.lower())


def normalize_spaces(text: str) -> str:
    """Single spaces between words, none at the ends."""
    return " ".join(text.split())


def normalize_line(text: str) -> str:
    """The line protocol: single spaces between words, none at the ends, case-folded (the rule of
    ``crnn_plugin.evaluate.normalize_line``)."""
    return normalize_spaces(text).casefold()


def score_texts(
    texts: Sequence[str], labels: Sequence[str], cs_labels: Sequence[str] | None
) -> dict[str, object]:
    """Every protocol on one set, as ``crnn_plugin.evaluate.evaluate_folder`` scores it.

    ``acc36``: 36-class word accuracy. ``acc_cs``: exact match against the case-sensitive labels,
    case and punctuation kept (``None`` without such labels). ``acc_line``: caseless exact line
    match. ``cer``: caseless character error rate, summed Levenshtein edits / summed label length.
    Strings are compared with single spaces between words. Needs ``rapidfuzz`` (imported here so
    that this module stays importable without it).
    """
    from rapidfuzz.distance import Levenshtein

    n = len(labels)
    lines = [(normalize_line(t), normalize_line(lab)) for t, lab in zip(texts, labels)]
    edits = sum(Levenshtein.distance(t, lab) for t, lab in lines)
    ref = sum(len(lab) for _, lab in lines)
    ok36 = sum(normalize36(t) == normalize36(lab) for t, lab in zip(texts, labels))
    ok_line = sum(t == lab for t, lab in lines)
    ok_cs = None
    if cs_labels is not None:
        ok_cs = sum(normalize_spaces(t) == normalize_spaces(lab) for t, lab in zip(texts, cs_labels))
    return {
        "n": n,
        "correct": ok36,
        "acc36": ok36 / max(n, 1),
        "correct_cs": ok_cs,
        "acc_cs": None if ok_cs is None else ok_cs / max(n, 1),
        "correct_line": ok_line,
        "acc_line": ok_line / max(n, 1),
        "edits": edits,
        "ref_chars": ref,
        "cer": edits / max(ref, 1),
    }


def case_sensitive_labels(folder: str | Path, rows: Sequence[tuple[Path, str]]) -> list[str] | None:
    """Case-sensitive label of each of ``rows`` (from :func:`read_labels`), or ``None``.

    From ``labels_casesensitive.tsv`` matched by path when present (``crnn_plugin.evaluate``'s
    rule), else the labels themselves when the set's ``labels.tsv`` holds lower-case letters.
    """
    root = Path(folder)
    if not (root / "labels_casesensitive.tsv").is_file():
        all_rows = read_labels(root)
        return [lab for _, lab in rows] if any(c.islower() for _, lab in all_rows for c in lab) else None
    table: dict[Path, str] = {}
    with open(root / "labels_casesensitive.tsv", encoding="utf-8") as f:
        for line in f:
            rel, _, label = line.rstrip("\n").partition("\t")
            if rel:
                table[root / rel] = label
    if any(p not in table for p, _ in rows):
        logger.warning("%s: labels_casesensitive.tsv misses some crops; no case-sensitive score", root)
        return None
    return [table[p] for p, _ in rows]


def parse_sets(value: str) -> list[str]:
    """A comma list of :data:`SETS` names (``--sets``), checked."""
    sets = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in sets if s not in SETS]
    if unknown or not sets:
        raise SystemExit(f"--sets: unknown {unknown or value!r}; known: {', '.join(SETS)}")
    return sets


def data_folder(value: str) -> Path:
    """argparse ``type`` for ``--data``: a folder holding ``iiit5k_test/labels.tsv`` (and the
    other benchmark folders), or a one-line usage error naming it."""
    import argparse

    path = Path(value)
    if not (path / "iiit5k_test" / "labels.tsv").is_file():
        raise argparse.ArgumentTypeError(
            f"{value}: no iiit5k_test/labels.tsv here (the benchmark data folder)"
        )
    return path


def read_labels(folder: str | Path, limit: int | None = None) -> list[tuple[Path, str]]:
    """``(absolute path, label)`` rows of ``folder/labels.tsv`` (``relpath<TAB>label``), in file order."""
    root = Path(folder)
    rows: list[tuple[Path, str]] = []
    with open(root / "labels.tsv", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            rel, _, label = line.partition("\t")
            rows.append((root / rel, label))
    return rows[:limit] if limit is not None else rows


@dataclass(frozen=True)
class Timing:
    """Repeated measurements of one quantity (e.g. crops/s)."""

    median: float
    min: float
    max: float
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {"median": self.median, "min": self.min, "max": self.max, "values": list(self.values)}


def summarize(values: Sequence[float]) -> Timing:
    """Median, min and max of repeated measurements."""
    vals = tuple(float(v) for v in values)
    return Timing(statistics.median(vals), min(vals), max(vals), vals)


def crops_per_s(
    fn: Callable[[], object], crops: int, repeats: int, sync: Callable[[], object] | None = None
) -> float:
    """Median crops/s of ``fn`` (which handles ``crops`` crops) over ``repeats`` timed runs after two
    warm-ups; ``sync`` (e.g. ``torch.cuda.synchronize``) is called before each clock reading."""
    wait = sync or (lambda: None)
    for _ in range(2):
        fn()
    wait()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        wait()
        times.append(time.perf_counter() - t0)
    return crops / statistics.median(times)


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _is_training(argv: list[str]) -> bool:
    """``python -m crnn_plugin.train ...`` or ``crnn-plugin train ...`` (the README's command)."""
    if TRAIN_MODULE in argv:
        return True
    cli = [i for i, a in enumerate(argv) if os.path.basename(a) == "crnn-plugin"]
    return any(i + 1 < len(argv) and argv[i + 1] == "train" for i in cli)


def training_pids() -> list[int]:
    """PIDs of a background training (``python -m crnn_plugin.train`` or ``crnn-plugin train``)
    and its workers.

    ``pgrep -f`` alone would also match any shell whose command line merely mentions the command
    (for instance the shell running this benchmark), so a process only counts when its argv *is*
    that command (:func:`_is_training`). This process and its ancestors are never included.
    """
    try:
        out = subprocess.run(
            ["pgrep", "-f", r"crnn_plugin\.train|crnn-plugin"], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        return []
    own = {os.getpid(), os.getppid()}
    return [int(t) for t in out.split() if int(t) not in own and _is_training(_cmdline(int(t)))]


def _signal_training(sig: signal.Signals) -> list[int]:
    pids = training_pids()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    return pids


def resume_training() -> None:
    """SIGCONT every training process (harmless when none is stopped)."""
    _signal_training(signal.SIGCONT)


_guards_installed = False


def _install_resume_guards() -> None:
    """Make sure training is resumed however this process ends (normal exit, exception, signal)."""
    global _guards_installed
    if _guards_installed:
        return
    _guards_installed = True
    atexit.register(resume_training)

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        resume_training()
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, _on_signal)


#: One entry per timed window of this process: what, seconds, foreign CPU load (see below).
WINDOWS: list[dict[str, object]] = []


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from ``/proc/stat`` (busy includes steal, excludes idle/iowait)."""
    with open("/proc/stat", encoding="ascii") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])
    return total - idle, total


def _own_cpu_seconds() -> float:
    """CPU seconds used by this process and its reaped children."""
    self_ = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime


@contextlib.contextmanager
def paused_training(enabled: bool = True, what: str = "") -> Iterator[None]:
    """Stop the background training for a timed section and always resume it afterwards.

    Also records in :data:`WINDOWS` the *foreign* CPU load of the window: CPU time spent by any
    other process (or stolen by the hypervisor), as a fraction of all cores over the window. A
    value well above 0 means someone else used the machine and the timings are pessimistic.
    """
    if not enabled:
        yield
        return
    _install_resume_guards()
    pids = _signal_training(signal.SIGSTOP)
    if pids:
        logger.info("paused training %s for %s", pids, what or "timing")
        time.sleep(0.3)  # let the cores go idle
    hz = os.sysconf("SC_CLK_TCK")
    ncpu = os.cpu_count() or 1
    busy0, _ = _busy_jiffies()
    own0 = _own_cpu_seconds()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        resume_training()
        secs = time.perf_counter() - t0
        busy1, _ = _busy_jiffies()
        foreign = max(0.0, (busy1 - busy0) / hz - (_own_cpu_seconds() - own0)) / max(secs * ncpu, 1e-9)
        WINDOWS.append(
            {"what": what, "seconds": round(secs, 2), "foreign_cpu": round(foreign, 3), "paused": len(pids)}
        )
        level = logging.WARNING if foreign > 0.1 else logging.INFO
        logger.log(level, "resumed training after %.1f s (foreign CPU load %.0f %%)", secs, 100 * foreign)


def rss_kib(field: str = "VmRSS") -> int:
    """A memory field of this process from ``/proc/self/status`` in KiB (``VmRSS`` or ``VmHWM``)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0
