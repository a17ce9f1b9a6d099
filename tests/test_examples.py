"""The page examples run end to end and read examples/page.jpg (they need RapidOCR's offline
detector, the `examples` extra: skipped where it is not installed, as in CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LINES = [
    "CORNER BAKERY",
    "Fresh bread daily",
    "Croissant 2.50",
    "Baguette 3.20",
    "Coffee 1.80",
    "OPEN",
    "Thank you",
]


@pytest.mark.parametrize("script", ["other_detector.py", "doctr_document.py"])
def test_page_example_reads_every_line(script: str) -> None:
    pytest.importorskip("rapidocr", reason="the `examples` extra (RapidOCR) is not installed")
    if script == "doctr_document.py":
        pytest.importorskip("doctr")
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for line in LINES:
        assert line in out.stdout, f"{line!r} not in the output of {script}"
