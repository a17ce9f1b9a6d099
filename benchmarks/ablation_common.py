"""What the ablation scripts share: a logged training run from a config with overrides, the
validation sets scored by ``crnn-plugin evaluate``, and a table cell of those scores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VAL = ["iiit5k_test", "svt_test", "svtp_test", "sroie_lines_val"]


def run_logged(cmd: list[str], log: Path) -> None:
    """Run ``cmd`` in the repo root, appending the command line and its output to ``log``."""
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT, cwd=REPO)


def train_command(config: Path, sources: list[dict[str, Any]], data: str, sets: dict[str, Any]) -> list[str]:
    """``python -m crnn_plugin.train CONFIG --set ...`` with the sources' data paths under ``data``
    (``sources`` first, then ``sets`` in order)."""
    fixed = [{**s, "path": s["path"].replace("../shared/data", data)} if "path" in s else s for s in sources]
    cmd = [sys.executable, "-m", "crnn_plugin.train", str(config)]
    for k, v in {"sources": fixed, **sets}.items():
        cmd += ["--set", f"{k}={json.dumps(v)}"]
    return cmd


def evaluate(model: Path, data: str) -> list[dict[str, Any]]:
    """``crnn-plugin evaluate --format json`` rows of the validation sets (PyTorch, fp32)."""
    dirs = [str(Path(data) / v) for v in VAL]
    cmd = [sys.executable, "-m", "crnn_plugin", "evaluate", *dirs, "--model", str(model)]
    cmd += ["--format", "json", "--backend", "torch", "--fp32"]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def pct(rows: list[dict[str, Any]], dataset: str, key: str) -> str:
    """``key`` of ``dataset``'s row in per cent with one decimal, ``-`` when absent."""
    v = next((r.get(key) for r in rows if r.get("dataset") == dataset), None)
    return "-" if v is None else f"{100 * v:.1f}"


def score_cells(rows: list[dict[str, Any]]) -> str:
    """The table's score cells: IIIT5K, SVT, SVTP 36-class, SROIE line match and CER."""
    return (
        f"{pct(rows, 'iiit5k_test', 'acc36')} | {pct(rows, 'svt_test', 'acc36')} | "
        f"{pct(rows, 'svtp_test', 'acc36')} | {pct(rows, 'sroie_lines_val', 'acc_line')} | "
        f"{pct(rows, 'sroie_lines_val', 'cer')}"
    )
