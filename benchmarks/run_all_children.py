"""The benchmark driver's child processes: one ``peers.py`` worker, and our CLI timed end to end.

Every child's peak RSS comes from ``os.wait4``; training is resumed after each child.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_common import normalize36, paused_training, read_labels, resume_training, summarize
from run_all_names import HERE

logger = logging.getLogger("benchmarks.run_all")


def run_child(
    cmd: list[str], timeout: float, stdout_path: Path | None = None, resume: bool = True
) -> tuple[int, float, int]:
    """Run ``cmd``; return (exit code, wall seconds, peak RSS of that child in KiB via ``wait4``).

    stderr goes to this process's stderr (logs); stdout to ``stdout_path`` or /dev/null. With
    ``resume``, training is resumed afterwards in any case, even if the child was killed while it
    had paused it (callers inside a :func:`paused_training` window pass ``resume=False``).
    """
    logger.info("$ %s", shlex.join(cmd))
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, stdout=out, stderr=sys.stderr)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                logger.error("timeout after %.0f s: killing %d", timeout, proc.pid)
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode, wall, int(usage.ru_maxrss)
    finally:
        if stdout_path:
            out.close()  # type: ignore[union-attr]
        if resume:
            resume_training()


def run_worker(python: str, peer: str, extra: list[str], timeout: float, data: Path) -> dict[str, Any] | None:
    """One ``peers.py`` process; its JSON report plus the child's wall time and peak RSS."""
    cmd = [python, str(HERE / "peers.py"), peer, "--data", str(data), *extra]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        rc, wall, maxrss = run_child(cmd, timeout, out)
        text = out.read_text().strip()
    if rc != 0 or not text:
        logger.error("%s failed (exit %d)", peer, rc)
        return None
    report: dict[str, Any] = json.loads(text.splitlines()[-1])
    report["process_wall_s"] = wall
    report["process_maxrss_kib"] = maxrss
    return report


def time_cli(model: str, data: Path, repeats: int, fp32: bool, timeout: float) -> dict[str, Any]:
    """Time ``crnn-plugin recognize <iiit5k_test/test> -o X.jsonl`` end to end, ``repeats`` times."""
    exe = Path(sys.executable).with_name("crnn-plugin")
    folder = data / "iiit5k_test" / "test"
    n = sum(1 for p in folder.iterdir() if p.is_file())
    rates: list[float] = []
    walls: list[float] = []
    rss: list[int] = []
    acc = None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.jsonl"
        cmd = [str(exe), "recognize", str(folder), "-o", str(out), "--model", model, "-q"]
        if fp32:
            cmd.append("--fp32")
        one = [str(exe), "recognize", str(min(folder.iterdir())), "-o", str(Path(tmp) / "one.jsonl")]
        one += cmd[5:]
        starts: list[float] = []
        with paused_training(True, "CLI" + (" --fp32" if fp32 else "")):
            for _ in range(repeats):
                out.unlink(missing_ok=True)
                rc, wall, maxrss = run_child(cmd, timeout, resume=False)
                if rc != 0:
                    raise RuntimeError(f"CLI failed with exit code {rc}")
                walls.append(wall)
                rates.append(n / wall)
                rss.append(maxrss)
            acc = _score_cli_output(out, data / "iiit5k_test")
            for _ in range(repeats):  # start-up cost: the same command on a single crop
                rc, wall, _ = run_child(one, timeout, resume=False)
                if rc != 0:
                    raise RuntimeError(f"CLI on one crop failed with exit code {rc}")
                starts.append(wall)
    display = [
        "crnn-plugin",
        "recognize",
        str(folder),
        "-o",
        "/tmp/x.jsonl",
        "--model",
        model,
        "-q",
        *(["--fp32"] if fp32 else []),
    ]
    return {
        "cmd": shlex.join(display),
        "n": n,
        "crops_per_s": summarize(rates).to_dict(),
        "wall_s": summarize(walls).to_dict(),
        "maxrss_kib": max(rss),
        "acc36": acc,
        "startup_s": summarize(starts).to_dict(),
        "crops_per_s_after_startup": n / (summarize(walls).median - summarize(starts).median),
    }


def _score_cli_output(path: Path, folder: Path) -> float | None:
    """36-class accuracy of a CLI jsonl output against ``labels.tsv`` (consistency check)."""
    if not path.is_file():
        return None
    preds = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        preds[os.path.realpath(row["path"])] = row.get("text") or ""
    rows = read_labels(folder)
    ok = sum(normalize36(preds.get(os.path.realpath(p), "")) == normalize36(lab) for p, lab in rows)
    return ok / max(len(rows), 1)
