"""``crnn-plugin`` evaluate, info and help; usage errors before any input is read; signals at start-up.

The ``recognize`` command's own tests are in ``test_cli_recognize.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _helpers import render_word, run_cli

from crnn_plugin.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE


def test_unwritable_outputs_and_bad_options_exit_2_before_reading(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    img = tmp_path / "a.png"
    render_word("ok").save(img)
    base = ["recognize", str(img), "--model", str(model_dir)]
    for extra, message in [
        (["-o", str(tmp_path / "nodir" / "out.jsonl")], "cannot write .*nodir/out.jsonl: No such file"),
        (["-o", str(tmp_path)], "cannot write .*: Is a directory"),
        (["--beam-width", "0"], "--beam-width must be >= 1"),
        (["--device", "tpu"], "device 'tpu': not a device torch knows"),
    ]:
        code, out, err = run_cli([*base, *extra], capsys)
        assert code == EXIT_USAGE and out == "" and re.search(message, err), (extra, err)
    if Path("/dev/full").exists():  # writes fail with ENOSPC: reported, no traceback
        code, _, err = run_cli([*base, "-o", "/dev/full"], capsys)
        assert code == EXIT_USAGE and "cannot write /dev/full: No space left on device" in err
    ev = ["evaluate", str(tmp_path), "--model", str(model_dir)]
    code, _, err = run_cli([*ev, "--predictions", str(tmp_path / "nodir" / "p.jsonl")], capsys)
    assert code == EXIT_USAGE and "cannot write" in err and "has no labels.tsv" not in err
    code, _, err = run_cli([*ev, "--limit", "0"], capsys)
    assert code == EXIT_USAGE and "--limit must be >= 1" in err


def test_info_and_help(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["info", "--model", str(model_dir)], capsys)
    info = json.loads(out)
    assert code == 0 and info["arch"] == "tiny" and info["parameters"] > 0
    assert run_cli(["--help"], capsys)[0] == 0


def test_evaluate_reports_a_bad_benchmark_and_scores_the_others(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good"
    (good / "img").mkdir(parents=True)
    for i, w in enumerate(["cat", "dog"]):
        render_word(w).save(good / "img" / f"{i}.png")
    (good / "labels.tsv").write_text("img/0.png\tcat\nimg/1.png\tdog\n")
    (tmp_path / "unlabelled").mkdir()
    preds = tmp_path / "preds.jsonl"
    args = ["evaluate", str(tmp_path / "unlabelled"), str(good), "--model", str(model_dir)]
    code, out, err = run_cli([*args, "--predictions", str(preds)], capsys)
    assert code == EXIT_SOME_FAILED
    assert "unlabelled: has no labels.tsv" in err
    assert "| | good |" in out and "| images | 2 |" in out
    assert [json.loads(line)["label"] for line in preds.read_text().splitlines()] == ["cat", "dog"]
    code, out, err = run_cli(["evaluate", str(tmp_path / "missing"), "--model", str(model_dir)], capsys)
    assert code == EXIT_USAGE and "missing: does not exist" in err and out == ""


def test_predictions_check_touches_nothing(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "target.jsonl")  # dangling
    kept = tmp_path / "kept.jsonl"
    kept.write_text("old\n")
    for preds in (link, kept):
        code, _, _ = run_cli(
            ["evaluate", str(tmp_path / "none"), "--model", str(model_dir), "--predictions", str(preds)],
            capsys,
        )
        assert code == EXIT_USAGE
    assert link.is_symlink() and not (tmp_path / "target.jsonl").exists() and kept.read_text() == "old\n"


def _wait_for_reader(fifo: Path, proc: subprocess.Popen[str], timeout: float = 120) -> int:
    """Open ``fifo`` for writing once the process has opened it for reading; returns the fd."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            time.sleep(0.05)
    raise AssertionError(f"the process never opened {fifo} (exit {proc.poll()})")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_exits_130_quietly(tmp_path: Path, model_dir: Path, sig: int) -> None:
    """Signalled while it reads its lexicon (a FIFO that never delivers): past the imports and the
    model load, before any crop is read."""
    img = tmp_path / "a.png"
    render_word("ok").save(img)
    fifo = tmp_path / "words.fifo"
    os.mkfifo(fifo)
    cmd = [sys.executable, "-m", "crnn_plugin", "recognize", str(img), "--model", str(model_dir)]

    def default_sigint() -> None:  # a background job's children start with SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen(
        [*cmd, "--lexicon", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    fd = _wait_for_reader(fifo, proc)
    try:
        time.sleep(0.2)  # let it block in read()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(fd)
    assert proc.returncode == 130 and out == "", err
    assert err == "crnn-plugin: interrupted\n", err


def test_main_restores_the_sigterm_handler(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    run_cli(["info", "--model", str(model_dir)], capsys)
    assert signal.getsignal(signal.SIGTERM) is before


def test_lexicon_errors_are_one_line_naming_file_and_line(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    img = tmp_path / "a.png"
    render_word("cat").save(img)
    base = ["recognize", str(img), "--model", str(model_dir)]
    per = tmp_path / "per.tsv"
    per.write_text("a.png\tcat\nb.png\tdog\na.png\tcow\n")
    code, out, err = run_cli([*base, "--lexicon-per-image", str(per)], capsys)
    assert code == EXIT_USAGE and out == ""
    assert (
        err == f"crnn-plugin: error: {per}:3: 'a.png' already has a lexicon on line 1 (one line per image)\n"
    )
    words = tmp_path / "words.txt"
    words.write_text("cat\nhot dog\n")
    for cmd in (
        [*base, "--lexicon", str(words)],
        ["evaluate", str(tmp_path), "--model", str(model_dir), "--lexicon", str(words)],
    ):
        code, out, err = run_cli(cmd, capsys)
        assert code == EXIT_USAGE and out == "" and len(err.splitlines()) == 1, err
        assert f"{words}:2: 'hot dog' contains whitespace" in err


def test_evaluate_reads_a_lexicon_file_once_for_every_folder(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crnn_plugin.lexicon import Lexicon

    folders = []
    for name in ("one", "two"):
        folder = tmp_path / name
        (folder / "img").mkdir(parents=True)
        render_word("cat").save(folder / "img" / "0.png")
        (folder / "labels.tsv").write_text("img/0.png\tcat\n")
        folders.append(str(folder))
    words = tmp_path / "words.txt"
    words.write_text("cat\ndog\n")
    loads: list[str] = []
    real_load = Lexicon.load

    def counted_load(source: str, **kwargs: object) -> Lexicon:
        loads.append(str(source))
        return real_load(source, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Lexicon, "load", counted_load)
    code, out, _ = run_cli(
        [
            "evaluate",
            *folders,
            "--model",
            str(model_dir),
            "--lexicon",
            str(words),
            "--lexicon-min-ratio",
            "0.5",
        ],
        capsys,
    )
    assert code == EXIT_OK and loads == [str(words)]
    assert f"| 36-class, lexicon {words} | " in out
    assert f"| 36-class, lexicon {words}, open 0.5 |" in out
