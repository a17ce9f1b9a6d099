"""``crnn-plugin recognize`` on folders made in the test: every good file read, every bad one
reported; output formats, resume, lexicons, views and signals mid-run (:mod:`crnn_plugin._cli_recognize`)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _helpers import data_dir, render_word, run_cli, turned_word
from PIL import Image

from crnn_plugin.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE


def make_torture_folder(root: Path) -> tuple[set[str], set[str]]:
    """Good and bad files of every kind the CLI must survive; returns (good names, bad names)."""
    root.mkdir()
    word = render_word("word")
    good: dict[str, Image.Image | None] = {
        "plain.png": word,
        "tiny_1x1.png": Image.new("RGB", (1, 1), "white"),
        "long_1x20000.png": Image.new("L", (20000, 1), 255),
        "big_8000x8000.png": Image.new("L", (8000, 8000), 200),
        "gray16.png": Image.fromarray(np.asarray(word.convert("L")).astype("<u2") * 257),
        "cmyk.jpg": word.convert("CMYK"),
        "palette.png": word.convert("P"),
        "rgba.png": word.convert("RGBA"),
        "unicode naïve 字.png": word,
    }
    for name, img in good.items():
        assert img is not None
        img.save(root / name)
    exif = Image.Exif()
    exif[0x0112] = 8
    word.save(root / "exif_rotated.jpg", exif=exif)
    frames = [word, word.convert("L").convert("RGB")]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    good_names = set(good) | {"exif_rotated.jpg", "animated.gif"}
    buf = io.BytesIO()
    word.save(buf, "PNG")
    (root / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    word.save(buf, "JPEG")
    (root / "truncated.jpg").write_bytes(buf.getvalue()[:100])
    (root / "zero.png").write_bytes(b"")
    (root / "text.png").write_text("not an image")
    (root / "unreadable.png").write_bytes(buf.getvalue())
    os.chmod(root / "unreadable.png", 0)
    bad = {"truncated.png", "truncated.jpg", "zero.png", "text.png"}
    if os.geteuid() != 0:  # root can read mode-000 files
        bad.add("unreadable.png")
    else:
        good_names.add("unreadable.png")
    (root / "sub").mkdir()
    word.save(root / "sub" / "nested.png")
    os.symlink("..", root / "sub" / "loop")  # a symlink loop must not hang the walk
    return good_names, bad


def test_recognize_torture_folder(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = make_torture_folder(tmp_path / "crops")
    code, out, err = run_cli(
        ["recognize", str(tmp_path / "crops"), "--model", str(model_dir), "--recursive", "--device", "cpu"],
        capsys,
    )
    rows = [json.loads(line) for line in out.splitlines()]
    by_name = {Path(r["path"]).name: r for r in rows}
    assert code == EXIT_SOME_FAILED
    assert set(by_name) == good | bad | {"nested.png"}
    for name in good | {"nested.png"}:
        assert "error" not in by_name[name] and isinstance(by_name[name]["text"], str), name
        assert 0 <= by_name[name]["confidence"] <= 1
    for name in bad:
        assert name in by_name[name]["error"], by_name[name]
    assert "could not be read" in err
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)  # deterministic order


def test_formats_and_exit_codes(tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ok"
    folder.mkdir()
    for i, w in enumerate(["one", "two", "three"]):
        render_word(w).save(folder / f"{i}.png")
    out_csv = tmp_path / "out.csv"
    code, _, _ = run_cli(["recognize", str(folder), "--model", str(model_dir), "-o", str(out_csv)], capsys)
    assert code == EXIT_OK
    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["path", "text", "confidence", "error"] and len(rows) == 4
    code, out, _ = run_cli(
        ["recognize", str(folder / "0.png"), "--model", str(model_dir), "--format", "txt"], capsys
    )
    assert code == EXIT_OK and len(out.splitlines()) == 1
    assert run_cli(["recognize", str(folder), "--model", str(tmp_path / "none")], capsys)[0] == EXIT_USAGE
    assert run_cli(["recognize"], capsys)[0] == EXIT_USAGE
    assert run_cli(["recognize", str(folder), "--resume"], capsys)[0] == EXIT_USAGE
    code, _, err = run_cli(
        ["recognize", str(folder), "--model", str(model_dir), "--lexicon", str(tmp_path / "nolex.txt")],
        capsys,
    )
    assert code == EXIT_USAGE and "nolex.txt" in err


def test_stdin_paths_and_glob(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    render_word("a").save(folder / "a.png")
    render_word("b").save(folder / "b.jpg")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{folder / 'a.png'}\n{folder / 'b.jpg'}\n"))
    code, out, _ = run_cli(["recognize", "-", "--model", str(model_dir)], capsys)
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = run_cli(["recognize", str(folder), "--glob", "*.jpg", "--model", str(model_dir)], capsys)
    assert [Path(json.loads(x)["path"]).name for x in out.splitlines()] == ["b.jpg"]


def test_resume_after_torn_output(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    for i in range(5):
        render_word(f"w{i}").save(folder / f"{i}.png")
    out = tmp_path / "out.jsonl"
    first = json.dumps({"path": str(folder / "0.png"), "text": "x", "confidence": 0.5})
    out.write_text(first + "\n" + '{"path": "' + str(folder / "1.png"))  # killed mid-line
    code, _, _ = run_cli(
        ["recognize", str(folder), "--model", str(model_dir), "-o", str(out), "--resume"], capsys
    )
    lines = out.read_text().splitlines()
    paths = [json.loads(x)["path"] for x in lines]
    assert code == 0 and lines[0] == first
    assert sorted(paths) == sorted(str(folder / f"{i}.png") for i in range(5))
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_retries_inputs_that_failed(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    render_word("ok").save(folder / "0.png")
    (folder / "1.png").write_bytes(b"")  # unreadable in the first run
    out = tmp_path / f"out.{fmt}"
    args = ["recognize", str(folder), "--model", str(model_dir), "-o", str(out)]
    assert run_cli(args, capsys)[0] == EXIT_SOME_FAILED
    first = out.read_text()
    render_word("ok").save(folder / "1.png")  # repaired
    code, _, _ = run_cli([*args, "--resume"], capsys)
    text = out.read_text()
    assert code == EXIT_OK and text.startswith(first.splitlines()[0]) and "empty" not in text
    rows = (
        [json.loads(x) for x in text.splitlines()]
        if fmt == "jsonl"
        else list(csv.DictReader(io.StringIO(text)))
    )
    assert sorted(r["path"] for r in rows) == [str(folder / "0.png"), str(folder / "1.png")]
    assert not any(r.get("error") for r in rows)


def test_closed_stdout_pipe_ends_quietly(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        render_word(f"w{i}").save(folder / f"{i}.png")
    cmd = [sys.executable, "-m", "crnn_plugin", "recognize", str(folder), "--model", str(model_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err, err


@pytest.mark.slow
def test_sigint_leaves_valid_output_and_resume_completes(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    word = render_word("interrupt")
    n = 5000  # enough work that the run is still going when the signal lands
    for i in range(n):
        word.save(folder / f"{i:04d}.png")
    out = tmp_path / "out.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "crnn_plugin",
        "recognize",
        str(folder),
        "--model",
        str(model_dir),
        "-o",
        str(out),
        "--batch-size",
        "16",
        "--device",
        "cpu",
    ]

    # a child of a background job inherits SIGINT ignored (then Python installs no handler): reset it
    def default_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size == 0):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    partial = out.read_text().splitlines()
    assert 0 < len(partial) < n
    assert all(json.loads(x)["path"] for x in partial)  # every line is complete JSON
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    paths = [json.loads(x)["path"] for x in out.read_text().splitlines()]
    assert len(paths) == n and len(set(paths)) == n


def test_recognize_with_lexicons(tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "lex"
    folder.mkdir()
    render_word("cat").save(folder / "a.png")
    render_word("dog").save(folder / "b.png")
    (tmp_path / "words.txt").write_text("cat\ndog\n")
    code, out, _ = run_cli(
        ["recognize", str(folder), "--model", str(model_dir), "--lexicon", str(tmp_path / "words.txt")],
        capsys,
    )
    rows = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and all(r["text"] in ("cat", "dog") and r["lexicon_used"] for r in rows)
    (tmp_path / "per.tsv").write_text("a.png\tcat\nb.png\tdog\n")
    code, out, _ = run_cli(
        [
            "recognize",
            str(folder),
            "--model",
            str(model_dir),
            "--lexicon-per-image",
            str(tmp_path / "per.tsv"),
        ],
        capsys,
    )
    assert [json.loads(x)["text"] for x in out.splitlines()] == ["cat", "dog"]
    base = ["recognize", str(folder), "--model", str(model_dir)]
    words = ["--lexicon", str(tmp_path / "words.txt")]
    code, out, _ = run_cli([*base, *words, "--lexicon-min-ratio", "0"], capsys)
    assert code == 0 and all(json.loads(x)["lexicon_used"] for x in out.splitlines())
    code, _, err = run_cli([*base, "--lexicon-min-ratio", "0.01"], capsys)
    assert code == 2 and "--lexicon-min-ratio needs --lexicon" in err
    code, _, err = run_cli([*base, *words, "--lexicon-min-ratio", "-1"], capsys)
    assert code == 2 and "min_ratio" in err
    # a per-image file is checked before any crop is read: a bad entry names the file and the entry
    per = ["--lexicon-per-image", str(tmp_path / "per.tsv")]
    (tmp_path / "per.tsv").write_text("a.png\tcat\nb.png\t\n")
    code, out, err = run_cli([*base, *per], capsys)
    assert code == 2 and out == "" and "per.tsv: entry 'b.png': the lexicon is empty" in err
    # inputs without an entry are read lexicon-free, and the run says how many there were
    (tmp_path / "per.tsv").write_text("a.png\tcat\n")
    code, out, err = run_cli([*base, *per], capsys)
    assert code == 0 and [json.loads(x)["lexicon_used"] for x in out.splitlines()] == [True, False]
    assert "1 of 2 input(s) have no entry in" in err


def test_recognize_workers(tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Any number of decoding threads gives the same output; fewer than one is a usage error."""
    folder = tmp_path / "w"
    folder.mkdir()
    for i, word in enumerate(["alpha", "beta", "gamma", "delta"]):
        render_word(word).save(folder / f"{i}.png")
    (folder / "bad.png").write_bytes(b"broken")
    base = ["recognize", str(folder), "--model", str(model_dir)]
    one = run_cli([*base, "--workers", "1"], capsys)
    three = run_cli([*base, "--workers", "3"], capsys)
    assert one[0] == three[0] == 1 and one[1] == three[1]  # 1: one input failed, the rest read
    assert len(one[1].splitlines()) == 5 and "bad.png" in one[1]
    code, _, err = run_cli([*base, "--workers", "0"], capsys)
    assert code == 2 and "--workers" in err


def test_recognize_rotated_word_and_upright(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped model reads a word turned 90 degrees; --upright reads only the crop as given."""
    from PIL import Image

    render_word("MARKET", size=36).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "turned.png")
    code, out, _ = run_cli(["recognize", str(tmp_path / "turned.png")], capsys)
    assert code == 0 and json.loads(out)["text"] == "MARKET"
    code, out, _ = run_cli(["recognize", str(tmp_path / "turned.png"), "--upright"], capsys)
    assert code == 0 and json.loads(out)["text"] != "MARKET"


def test_recognize_condensed_word_and_no_stretch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A word squeezed to 30 % of its width reads right (stretched view); --no-stretch reads it as given."""
    word = render_word("Coffee", size=36)
    word.resize((int(word.width * 0.3), word.height)).save(tmp_path / "narrow.png")
    code, out, _ = run_cli(["recognize", str(tmp_path / "narrow.png")], capsys)
    assert code == 0 and json.loads(out)["text"] == "Coffee"
    code, out, _ = run_cli(["recognize", str(tmp_path / "narrow.png"), "--no-stretch"], capsys)
    assert code == 0 and json.loads(out)["text"] != "Coffee"


def test_recognize_rotated_word_and_no_deskew(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A word turned 30 degrees in its box reads right (deskewed view); --no-deskew, which keeps
    the stretched view, does not."""
    turned_word("MARKET", 30).save(tmp_path / "slanted.png")
    code, out, _ = run_cli(["recognize", str(tmp_path / "slanted.png")], capsys)
    assert code == 0 and json.loads(out)["text"] == "MARKET"
    code, out, _ = run_cli(["recognize", str(tmp_path / "slanted.png"), "--no-deskew"], capsys)
    assert code == 0 and json.loads(out)["text"] != "MARKET"


def test_nothing_found_json_suffix_and_fp32_onnx_are_said(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    m = ["--model", str(model_dir)]
    code, out, err = run_cli(["recognize", str(tmp_path / "empty"), *m], capsys)
    assert code == EXIT_OK and out == "" and "no input images found in" in err
    img = tmp_path / "a.png"
    render_word("ok").save(img)
    code, _, err = run_cli(["recognize", str(img), *m, "-o", str(tmp_path / "out.json")], capsys)
    assert code == EXIT_OK and "gets JSON Lines" in err
    assert json.loads((tmp_path / "out.json").read_text().splitlines()[0])["path"] == str(img)
    code, _, err = run_cli(["recognize", str(img), *m, "--fp32", "--backend", "onnx"], capsys)
    assert code == EXIT_USAGE and "cannot be combined with --backend onnx" in err


def test_resume_with_newlines_in_csv_paths(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    render_word("ok").save(folder / "good\nname.png")
    (folder / "bad\nname.png").write_bytes(b"")
    out = tmp_path / "out.csv"
    args = ["recognize", str(folder), "--model", str(model_dir), "-o", str(out)]
    assert run_cli(args, capsys)[0] == EXIT_SOME_FAILED
    render_word("ok").save(folder / "bad\nname.png")
    assert run_cli([*args, "--resume"], capsys)[0] == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["path"] for r in rows) == sorted(
        str(folder / n) for n in ("good\nname.png", "bad\nname.png")
    )
    assert not any(r["error"] for r in rows)
    before = out.read_bytes()
    assert (
        run_cli([*args, "--resume"], capsys)[0] == EXIT_OK and out.read_bytes() == before
    )  # nothing to redo


def test_done_paths_drops_torn_records_whole(tmp_path: Path) -> None:
    from crnn_plugin._cli_recognize import done_paths

    csv_out = tmp_path / "out.csv"
    csv_out.write_text('path,text,confidence,error\nok.png,a,0.9,\n"new\nline.png",b,0.8,\n"torn\npart')
    assert done_paths(csv_out, "csv") == {"ok.png", "new\nline.png"}
    assert csv_out.read_text() == 'path,text,confidence,error\nok.png,a,0.9,\n"new\nline.png",b,0.8,\n'
    jsonl_out = tmp_path / "out.jsonl"
    rows = [{"path": "a\u2028b.png", "text": "x", "confidence": 0.5}, {"path": "c.png", "error": "bad"}]
    jsonl_out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + '{"path": "d')
    assert done_paths(jsonl_out, "jsonl") == {"a\u2028b.png"}  # U+2028 is no line break here
    assert jsonl_out.read_text(encoding="utf-8") == json.dumps(rows[0], ensure_ascii=False) + "\n"


def test_recognize_no_lm_keeps_the_best_path(capsys: pytest.CaptureFixture[str]) -> None:
    """IIIT5K test crop 2036_2 ("Everything", skipped without ../shared/data): read right with the
    language model (default), misread with --no-lm."""
    crop = str(data_dir("iiit5k_test") / "test" / "2036_2.png")
    code, out, _ = run_cli(["recognize", crop], capsys)
    assert code == 0 and json.loads(out)["text"] == "Everything"
    code, out, _ = run_cli(["recognize", crop, "--no-lm"], capsys)
    assert code == 0 and json.loads(out)["text"] != "Everything"
