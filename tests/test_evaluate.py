"""Evaluation: the word, document and line protocols against hand-computed values, label files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from _helpers import data_dir, render_word
from test_training import WORDS, make_tsv_folder

from crnn_plugin import CRNN, VOCABS, CRNNConfig, DatasetError, Prediction, Recognizer, save_pretrained
from crnn_plugin.cli import main
from crnn_plugin.evaluate import (
    ascii_fold,
    evaluate_folder,
    format_table,
    normalize36,
    normalize_line,
    read_labelled,
)


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


def _as_doctr_and_lmdb(folder: Path, n: int, tmp_path: Path) -> list[Path]:
    """The same crops and labels in docTR's layout and, with ``lmdb`` installed, as an LMDB."""
    labels = dict(line.split("\t") for line in (folder / "labels.tsv").read_text().splitlines())
    doctr = tmp_path / "doctr"
    (doctr / "images").mkdir(parents=True)
    for i in range(n):
        (doctr / "images" / f"{i}.png").write_bytes((folder / "img" / f"{i}.png").read_bytes())
    (doctr / "labels.json").write_text(json.dumps({f"{i}.png": labels[f"img/{i}.png"] for i in range(n)}))
    out = [doctr]
    try:
        import lmdb
    except ImportError:
        return out
    env = lmdb.open(str(tmp_path / "lmdb"), map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", str(n).encode())
        for i in range(n):
            txn.put(b"image-%09d" % (i + 1), (folder / "img" / f"{i}.png").read_bytes())
            txn.put(b"label-%09d" % (i + 1), labels[f"img/{i}.png"].encode())
    env.close()
    return [*out, tmp_path / "lmdb"]


def test_doctr_and_lmdb_layouts_score_like_labels_tsv(tmp_path: Path, shipped: Recognizer) -> None:
    folder = make_tsv_folder(tmp_path / "tsv", WORDS)
    tsv = evaluate_folder(shipped, folder, keep_predictions=True)
    assert tsv.acc36 > 0.5 and tsv.acc_cs is not None  # WORDS have lower-case letters
    for other in _as_doctr_and_lmdb(folder, len(WORDS), tmp_path):
        res = evaluate_folder(shipped, other, keep_predictions=True)
        assert (res.n, res.acc36, res.acc_cs) == (tsv.n, tsv.acc36, tsv.acc_cs), other
        assert [p["text"] for p in res.predictions] == [p["text"] for p in tsv.predictions]
        if other.name == "doctr":  # predictions name the real image files
            assert all(Path(str(p["path"])).is_file() for p in res.predictions)
    assert read_labelled(folder, limit=3).names == ["img/0.png", "img/1.png", "img/2.png"]


def test_unreadable_benchmarks_raise_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="nowhere: does not exist"):
        read_labelled(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty: has no labels.tsv, labels.json"):
        read_labelled(tmp_path / "empty")
    bad_tsv = tmp_path / "bad_tsv"
    bad_tsv.mkdir()
    (bad_tsv / "labels.tsv").write_text("a.png\tA\nno tab here\n")
    with pytest.raises(DatasetError, match=r"labels\.tsv:2: expected 'path<TAB>label'"):
        read_labelled(bad_tsv)
    bad_json = tmp_path / "bad_json"
    (bad_json / "images").mkdir(parents=True)
    (bad_json / "labels.json").write_text('["a.png", "A"]')
    with pytest.raises(DatasetError, match=r"labels\.json: expected an object"):
        read_labelled(bad_json)
    (bad_json / "labels.json").write_text("{not json")
    with pytest.raises(DatasetError, match="bad_json: cannot read the labels"):
        read_labelled(bad_json)


def test_predictions_carry_the_lexicon_readings(tmp_path: Path, shipped: Recognizer) -> None:
    folder = make_tsv_folder(tmp_path / "ev", WORDS[:3])
    words = tmp_path / "words.txt"
    words.write_text("cab\ndot\nbard\n")
    res = evaluate_folder(shipped, folder, lexicons=[str(words)], min_ratio=0.01, keep_predictions=True)
    closed, open_ = str(words), f"{words}, open 0.01"
    assert set(res.acc36_lexicon) == {closed, open_}
    for row in res.predictions:
        lex = row["lexicon"]
        assert isinstance(lex, dict) and lex[closed].lower() in ("cab", "dot", "bard")  # "Bird" -> "Bard"
        assert lex[open_].lower() in ("cab", "dot", "bard") or lex[open_] == row["text"]


def test_limit_keeps_the_whole_benchmarks_case_and_paths_are_real_files(tmp_path: Path) -> None:
    folder = make_tsv_folder(tmp_path / "tsv", ["THE", "DOOR", "door"])
    assert read_labelled(folder, limit=2).cs_labels == ["THE", "DOOR"]  # "door" makes it case-sensitive
    doctr = _as_doctr_and_lmdb(folder, 3, tmp_path)
    for other in doctr:
        assert read_labelled(other, limit=2).cs_labels == ["THE", "DOOR"], other
    data = read_labelled(doctr[0])
    assert all(isinstance(x, Path) and x.is_file() for x in data.inputs)
    if len(doctr) > 1:  # an LMDB whose num-samples overstates it still reads up to the limit
        import lmdb

        env = lmdb.open(str(doctr[1]), map_size=1 << 24)
        with env.begin(write=True) as txn:
            txn.put(b"num-samples", b"9")
        env.close()
        assert len(read_labelled(doctr[1], limit=2).labels) == 2
        with pytest.raises(DatasetError, match="num-samples is 9 but sample 4 has no image"):
            read_labelled(doctr[1])


class _FixedReadings:
    """A stand-in recognizer that reads each crop as given (the images are never opened)."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def __call__(self, inputs: list[object], **_: object) -> list[Prediction]:
        return [Prediction(t, 0.5) for t in self.texts[: len(inputs)]]


def test_document_and_line_protocols_against_hand_computed_values(tmp_path: Path) -> None:
    labels = ["Café au lait", "TOTAL 12.50", "Straße", "hello"]
    preds = ["Cafe  au lait", "total 12.50", "STRASSE", "help"]
    folder = tmp_path / "lines"
    folder.mkdir()
    (folder / "labels.tsv").write_text("".join(f"{i}.png\t{lab}\n" for i, lab in enumerate(labels)))
    res = evaluate_folder(_FixedReadings(preds), folder, keep_predictions=True)  # type: ignore[arg-type]
    assert res.acc36 == 1 / 4  # only "total1250": é is dropped, ß is not "ss"
    assert res.acc_cs == 0.0  # exact: case and accents count ("hello" makes the labels case-sensitive)
    assert res.acc_partial == 3 / 4  # ASCII-folded and caseless: all but "help"
    assert res.acc_line == 2 / 4  # caseless with single spaces: "total 12.50" and "strasse" (casefold)
    # caseless edits: é/e, none, none ("straße" casefolds to "strasse"), "help" -> "hello"
    assert [p["edits"] for p in res.predictions] == [1, 0, 0, 2]
    assert res.cer == 3 / (12 + 11 + 7 + 5)
    table = format_table([res])
    for row in (
        "| partial (ASCII-folded, caseless), lexicon-free | 75.0 |",
        "| CER % (caseless), lexicon-free | 8.57 |",
    ):
        assert row in table, table
    assert res.summary()["acc_line"] == 0.5


def test_ascii_fold_agrees_with_doctrs_anyascii_on_latin_text() -> None:
    anyascii = pytest.importorskip("anyascii").anyascii
    samples = [
        "Café",
        "Straße",
        "Æsir",
        "œuvre",
        "Øre",
        "łódź",
        "“quoted” ‘x’",
        "a–b—c",
        "naïve",
        "ﬁne",
        "Þór",
        "Œuvre 5″ ½",
    ]
    for s in samples:
        assert ascii_fold(s) == anyascii(s), s
    assert normalize_line("  99 Speed\tMART ") == "99 speed mart"


def test_line_protocol_through_the_cli(
    tmp_path: Path, tiny_config: CRNNConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """``crnn-plugin evaluate`` in-process on rendered lines with a model whose vocab has the space:
    labels built from its own readings with known differences, scored in the table, the JSON
    summary and the --predictions rows."""
    torch.manual_seed(0)
    model = CRNN(dataclasses.replace(tiny_config, vocab=VOCABS["english_space"])).eval()
    model_dir = save_pretrained(model, tmp_path / "model")
    folder = tmp_path / "lines"
    (folder / "img").mkdir(parents=True)
    for i, line in enumerate(["99 SPEED MART", "TOTAL 12.50", "cash", "KLANG, SELANGOR"]):
        render_word(line).save(folder / "img" / f"{i}.png")
    (folder / "labels.tsv").write_text("".join(f"img/{i}.png\tx\n" for i in range(4)))
    preds_file = tmp_path / "preds.jsonl"
    base = ["evaluate", str(folder), "--model", str(model_dir), "--predictions", str(preds_file)]
    assert main(base) == 0
    capsys.readouterr()
    texts = [json.loads(line)["text"] for line in preds_file.read_text().splitlines()]
    assert all(len(t) >= 2 and t.swapcase() != t for t in texts), texts  # cased readings to vary
    # same line in the other case; a space inserted (1 edit); "QQ" added (2 edits); the reading
    labels = [texts[0].swapcase(), texts[1][:1] + " " + texts[1][1:], texts[2] + "QQ", texts[3]]
    (folder / "labels.tsv").write_text("".join(f"img/{i}.png\t{lab}\n" for i, lab in enumerate(labels)))
    assert main([*base, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    cer = 3 / sum(len(lab) for lab in labels)
    assert summary["dataset"] == "lines" and summary["images"] == 4
    assert (summary["acc36"], summary["acc_cs"], summary["acc_partial"], summary["acc_line"]) == (
        0.75,
        0.25,
        0.5,
        0.5,
    )
    assert summary["cer"] == pytest.approx(cer)
    assert [json.loads(line)["edits"] for line in preds_file.read_text().splitlines()] == [0, 1, 2, 0]
    assert main(base) == 0
    table = capsys.readouterr().out
    assert "| line (caseless exact), lexicon-free | 50.0 |" in table
    assert f"| CER % (caseless), lexicon-free | {100 * cer:.2f} |" in table
    assert main([*base, "--format", "json", "--doctr"]) == 2
    assert "--doctr prints a table" in capsys.readouterr().err


def test_spaced_words_counts_spaces_only_where_the_label_has_none() -> None:
    from crnn_plugin.evaluate import spaced_words

    texts = ["T HE", "NO STOPPING", "the", "Total 12.50", " pad "]
    labels = ["THE", "NOSTOPPING", "the", "Total 12.50", "pad"]
    assert spaced_words(texts, labels) == 2  # a line label with its space is no error
    with pytest.raises(ValueError):
        spaced_words(texts, labels[:2])


def test_table_and_summary_report_spaced_words() -> None:
    from crnn_plugin.evaluate import EvalResult, format_table

    res = EvalResult("words", 4, 0.5, None, 1.0, spaced_words=3)
    assert res.summary()["spaced_words"] == 3
    assert "| readings with a space, label without | 3 |" in format_table([res])
