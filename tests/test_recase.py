"""Case recovery of case-folded receipt lines (crnn_plugin.training.recase, scripts/recase_labels.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from crnn_plugin.training.datasets import open_dataset
from crnn_plugin.training.recase import recase_line

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("teacher", "label", "expected"),
    [
        ("tan woon yann", "TAN WOON YANN", "tan woon yann"),  # lower-case ink: the teacher decides
        ("TAMAN DAYA,", "TAMAN DAYA,", "TAMAN DAYA,"),
        ("GsT Summary", "GST SUMMARY", "GST Summary"),  # look-alike s follows G and T
        ("cHANGE", "CHANGE", "CHANGE"),
        ("cAsH SALES", "CASH SALES", "CASH SALES"),
        (
            "Total Sales (Inclusive GsT) RM",
            "TOTAL SALES (INCLUSIVE GST) RM",
            "Total Sales (Inclusive GST) RM",
        ),
        ("O.c. WHITE", "O.C. WHITE", "O.C. WHITE"),  # no deciding letter: the line's case
        ("sR @ 6%", "SR @ 6%", "SR @ 6%"),
        ("Pax(s): 0", "PAX(S): 0", "Pax(s): 0"),
        ("Cs 10090", "CS 10090", None),  # nothing decides
        ("1 x 10.90", "1 X 10.90", None),
        ("TAMaN", "TAMAN", None),  # mixed: a teacher's slip
        ("tOTAL", "TOTAL", None),
        ("739-417-W", "789417-W", None),  # not the same text
        ("12.50", "12.50", "12.50"),
        ("Date:  1/2", "DATE: 1/2", "Date: 1/2"),  # spaces normalised
    ],
)
def test_recase_line(teacher: str, label: str, expected: str | None) -> None:
    assert recase_line(teacher, label) == expected


def test_recase_never_changes_the_text_beyond_case() -> None:
    for teacher, label in [("GsT Summary", "GST SUMMARY"), ("e-mail: ab@c.com", "E-MAIL: AB@C.COM")]:
        out = recase_line(teacher, label)
        assert out is not None and out.upper() == label


def test_recase_script_writes_two_loadable_label_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    rows = {"images/a.png": ("TOTAL SALES", "Total Sales"), "images/b.png": ("1 X 2", "1 x 2")}
    preds = tmp_path / "teacher.jsonl"
    with open(data / "labels.tsv", "w") as f, open(preds, "w") as g:
        for rel, (label, reading) in rows.items():
            Image.new("L", (64, 16), 255).save(data / rel)
            f.write(f"{rel}\t{label}\n")
            g.write(json.dumps({"path": str(data / rel), "label": label, "text": reading}) + "\n")
    out = tmp_path / "out"
    for _ in range(2):  # a second run replaces the first's link
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "recase_labels.py"),
                str(data),
                str(preds),
                "--out",
                str(out),
            ],
            check=True,
        )
    cased = open_dataset(out)
    assert [cased[i][1] for i in range(len(cased))] == ["Total Sales"]
    assert cased[0][0].size == (64, 16)  # image paths resolve from the output folder
    rest = open_dataset(out, labels="labels_caseless.tsv")
    assert [rest[i][1] for i in range(len(rest))] == ["1 X 2"]


def test_recase_script_fails_when_no_reading_matches(tmp_path: Path) -> None:
    """Predictions written from another directory match no image: one clear error, no output."""
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    Image.new("L", (64, 16), 255).save(data / "images" / "a.png")
    (data / "labels.tsv").write_text("images/a.png\tTOTAL\n")
    preds = tmp_path / "teacher.jsonl"
    preds.write_text(json.dumps({"path": "elsewhere/images/a.png", "label": "TOTAL", "text": "Total"}) + "\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "recase_labels.py"),
            str(data),
            str(preds),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no reading of an image" in proc.stderr
    assert not out.exists()
