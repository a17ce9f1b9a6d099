"""Evaluation: the 36-class protocol, accuracy against hand-computed values, label files."""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers import data_dir
from test_training import WORDS, make_tsv_folder

from crnn_plugin import CRNN, Recognizer
from crnn_plugin.evaluate import evaluate_folder, format_table, normalize36


@pytest.fixture(scope="module")
def shipped() -> Recognizer:
    from crnn_plugin.hub import DEFAULT_MODEL, shipped_models

    if DEFAULT_MODEL not in shipped_models():
        pytest.skip("no shipped weights")
    return Recognizer.from_pretrained(device="cpu")


def test_evaluate_matches_hand_computed_accuracy(tmp_path: Path, tiny_model: CRNN) -> None:
    rec = Recognizer(tiny_model, device="cpu")
    folder = make_tsv_folder(tmp_path / "ev", WORDS[:4])
    preds = [p.text for p in rec([folder / "img" / f"{i}.png" for i in range(4)])]
    # relabel so that exactly two predictions are right under the 36-class protocol
    labels = [preds[0].upper() + "!", preds[1] + "-", "zzzz", "qqqq"]
    (folder / "labels.tsv").write_text("".join(f"img/{i}.png\t{lab}\n" for i, lab in enumerate(labels)))
    expect = sum(normalize36(p) == normalize36(lab) for p, lab in zip(preds, labels)) / 4
    res = evaluate_folder(rec, folder, keep_predictions=True)
    assert res.n == 4 and res.acc36 == pytest.approx(expect)
    assert len(res.predictions) == 4
    assert "36-class, lexicon-free" in format_table([res])


def test_normalize36() -> None:
    assert normalize36("Hello, World-2!") == "helloworld2"


def test_shipped_model_reads_real_crops(shipped: Recognizer) -> None:
    """The shipped weights on the first 200 crops of IIIT5K test (skips without the data)."""
    folder = data_dir("iiit5k_test")
    res = evaluate_folder(shipped, folder, limit=200)
    assert res.acc36 > 0.5


def test_case_sensitive_labels_are_matched_by_path(tmp_path: Path, shipped: Recognizer) -> None:
    folder = make_tsv_folder(tmp_path / "ev", WORDS[:6])
    preds = [p.text for p in shipped([folder / "img" / f"{i}.png" for i in range(6)])]
    assert len(set(preds)) == 6, preds  # distinct readings: a misaligned file would score < 100 %
    # the case-sensitive file lists the crops in another order than labels.tsv
    rows = [f"img/{i}.png\t{p}\n" for i, p in enumerate(preds)]
    (folder / "labels_casesensitive.tsv").write_text("".join(reversed(rows)), encoding="utf-8")
    res = evaluate_folder(shipped, folder)
    assert res.acc_cs == 1.0

    (folder / "labels_casesensitive.tsv").write_text("".join(rows[:5]), encoding="utf-8")
    missing = r"labels_casesensitive\.tsv: no label for 1 of the 6 crops.*img/5\.png"
    with pytest.warns(UserWarning, match=missing):
        res = evaluate_folder(shipped, folder)
    assert res.acc_cs is None and res.n == 6
