"""Training pipeline: dataset formats, a tiny run that learns, exact resume, DDP."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from _helpers import render_word

from crnn_plugin import from_pretrained
from crnn_plugin.training.datasets import open_dataset
from crnn_plugin.training.train import SourceConfig, TrainConfig, lr_at, train

WORDS = ["cat", "dog", "Bird", "fish", "cow", "Horse", "ant", "bee"]


def make_tsv_folder(root: Path, words: list[str] = WORDS, labels_name: str = "labels.tsv") -> Path:
    (root / "img").mkdir(parents=True)
    lines = []
    for i, w in enumerate(words):
        render_word(w).save(root / "img" / f"{i}.png")
        lines.append(f"img/{i}.png\t{w}")
    (root / labels_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_dataset_formats(tmp_path: Path) -> None:
    tsv = open_dataset(make_tsv_folder(tmp_path / "tsv"))
    assert len(tsv) == len(WORDS) and tsv[2][1] == "Bird" and tsv[2][0].mode == "RGB"
    doctr = tmp_path / "doctr"
    (doctr / "images").mkdir(parents=True)
    render_word("hello").save(doctr / "images" / "a.png")
    (doctr / "labels.json").write_text(json.dumps({"a.png": "hello", "b.png": "caf\u00e9"}))
    ds = open_dataset(doctr, vocab="helo")
    assert len(ds) == 1 and ds[0][1] == "hello"  # the label outside the vocab is dropped
    lmdb = pytest.importorskip("lmdb")
    env = lmdb.open(str(tmp_path / "lmdb"), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i, w in enumerate(["one", "two"], 1):
            buf = io.BytesIO()
            render_word(w).save(buf, "PNG")
            txn.put(b"image-%09d" % i, buf.getvalue())
            txn.put(b"label-%09d" % i, w.encode())
        txn.put(b"num-samples", b"2")
    env.close()
    lm = open_dataset(tmp_path / "lmdb")
    assert len(lm) == 2 and lm[1][1] == "two" and lm[1][0].size[1] > 0
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path / "nothing")


def tiny_cfg(tmp_path: Path, folder: Path, **kw: object) -> TrainConfig:
    base = dict(
        arch="crnn_small",
        vocab="abcdefghijklmnopqrstuvwxyzBH",
        sources=[
            SourceConfig(kind="folder", path=str(folder), weight=1.0, augment=True),
            SourceConfig(kind="folder", path=str(folder), weight=0.5, case_sensitive=False),
        ],
        batch_size=8,
        lr=2e-3,
        warmup_steps=2,
        max_steps=8,
        workers=0,
        out_dir=str(tmp_path / "run"),
        checkpoint_every_s=1e9,
        val_every_s=1e9,
        log_every=2,
    )
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_tiny_run_resumes_to_identical_state(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    folder = make_tsv_folder(tmp_path / "data")
    full = train(tiny_cfg(tmp_path / "a", folder))
    part_cfg = tiny_cfg(tmp_path / "b", folder, max_steps=3)
    train(part_cfg)
    ck = torch.load(Path(part_cfg.out_dir) / "checkpoint.pt", weights_only=True)
    assert ck["step"] == 3 and {"model", "optimizer", "scheduler", "rng"} <= set(ck)
    resumed = train(tiny_cfg(tmp_path / "b", folder))
    a, b = from_pretrained(full), from_pretrained(resumed)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    log = (Path(part_cfg.out_dir) / "train_log.csv").read_text().splitlines()
    assert log[0].startswith("step,hours,loss")


@pytest.mark.slow
def test_training_lowers_the_loss(tmp_path: Path) -> None:
    torch.set_num_threads(2)
    folder = make_tsv_folder(tmp_path / "data")
    cfg = tiny_cfg(tmp_path, folder, max_steps=60, doctr_fraction=0.0, log_every=10, lr=3e-3)
    train(cfg)
    rows = [r.split(",") for r in (Path(cfg.out_dir) / "train_log.csv").read_text().splitlines()[1:]]
    losses = [float(r[2]) for r in rows if r[2]]
    assert losses[-1] < 0.6 * losses[0], losses


def test_lr_schedule_cycles_by_step_and_by_time() -> None:
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, max_steps=1010, cycle_start=100, min_lr_ratio=0.05)
    assert lr_at(100, cfg) == pytest.approx(1e-4)  # warmup restarts at cycle_start
    assert lr_at(110, cfg) == pytest.approx(1e-3)  # peak right after the warmup
    assert lr_at(560, cfg) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))  # half-way down the cosine
    assert lr_at(5000, cfg) == pytest.approx(5e-5)  # floor after max_steps
    timed = TrainConfig(**{**cfg.__dict__, "cycle_seconds": 100.0})
    assert lr_at(120, timed) == lr_at(120, cfg)  # without a clock reading: by steps
    assert lr_at(120, timed, elapsed_s=50.0) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert lr_at(120, timed, elapsed_s=500.0) == pytest.approx(5e-5)  # the clock ran out first
    assert lr_at(1000, timed, elapsed_s=1.0) == lr_at(1000, cfg)  # the steps ran out first


def write_cfg(tmp_path: Path, out: str, max_steps: int) -> Path:
    """A JSON training config over a folder of rendered words."""
    folder = make_tsv_folder(tmp_path / "data")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "arch": "crnn_small",
                "vocab": "abcdefghijklmnopqrstuvwxyzBH",
                "sources": [{"kind": "folder", "path": str(folder)}],
                "batch_size": 4,
                "max_steps": max_steps,
                "workers": 0,
                "out_dir": str(tmp_path / out),
            }
        )
    )
    return cfg


def test_train_cli_writes_loadable_model(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "run", 2)
    from crnn_plugin.cli import main

    assert main(["train", str(cfg)]) == 0
    model = from_pretrained(tmp_path / "run" / "final")
    assert model.config.vocab == "abcdefghijklmnopqrstuvwxyzBH"
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_dict({"lr": 1, "learning_rate": 2})


def test_train_cli_reports_bad_configs_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crnn_plugin.cli import main

    cfg = write_cfg(tmp_path, "run", 2)
    good = json.loads(cfg.read_text())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"lr": 1e-3, "learning_rate": 2}, "unknown training config keys: ['learning_rate']"),
        ({"sources": [{"kind": "folder", "lables": "x"}]}, "sources[0]: unknown keys ['lables']"),
        ({"sources": [{"kind": "folder", "path": "nowhere"}]}, "data source 'nowhere' not found"),
        ({"val_dirs": ["missing_val"]}, "val_dirs entry 'missing_val' not found"),
        ({"arch": "resnet"}, "unknown arch 'resnet'"),
        ({"val_dirs": "data/x"}, "val_dirs must be a list of folders"),
        ({"out_dir": 2024}, "out_dir must be a string"),
        ({"squeeze_p": 1.5}, "squeeze_p must be in [0, 1]"),
    ]
    for change, message in cases:
        cfg.write_text(json.dumps({**good, **change}))
        assert main(["train", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert message in err and str(cfg) in err and "Traceback" not in err, err
    assert main(["train", str(tmp_path / "absent.json")]) == 2
    assert "absent.json" in capsys.readouterr().err
    cfg.write_text(json.dumps(good))
    assert main(["train", str(cfg), "--set", "nokey"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
    # a value that is not JSON is taken as a string: no quoting needed for paths
    assert main(["train", str(cfg), "--set", f"out_dir={tmp_path / 'other'}"]) == 0
    assert (tmp_path / "other" / "final" / "model.safetensors").is_file()


@pytest.mark.slow
def test_interrupted_training_checkpoints_and_exits_130(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "run", 100_000)
    cmd = [sys.executable, "-m", "crnn_plugin.train", str(cfg), "--set", "log_every=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until it is training
        if "step 2 " in line or "step 3 " in line:
            break
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    assert (tmp_path / "run" / "final" / "model.safetensors").is_file()
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] >= 2


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "ddp", 3)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "crnn_plugin.train",
            str(cfg),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert from_pretrained(tmp_path / "ddp" / "final") is not None
    ck = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=True)
    assert ck["step"] == 3


def test_caseless_labels_never_teach_upper_case_for_lower_case_ink() -> None:
    """A case-folded label ("HELLO" from an upper-case-only source) costs the same whether the
    model reads the ink as lower or upper case, so it never pushes lower-case ink to upper case."""
    from crnn_plugin.training.train import batch_loss
    from crnn_plugin.vocab import VOCABS, Tokenizer

    tok = Tokenizer(VOCABS["english_space"])

    def confident(text: str) -> torch.Tensor:  # (1, T, C) logits spelling ``text`` with blanks between
        frames = [tok.blank]
        for c in text:
            frames += [tok.encode(c)[0], tok.blank]
        logits = torch.full((1, len(frames), tok.num_classes), -10.0)
        logits[0, torch.arange(len(frames)), frames] = 10.0
        return logits

    lower, upper = confident("hello"), confident("HELLO")
    folded = [batch_loss(x, ["HELLO"], [True], tok).item() for x in (lower, upper)]
    assert folded[0] == pytest.approx(folded[1], abs=1e-4) and folded[0] < 0.01
    assert batch_loss(lower, ["HELLO"], [False], tok).item() > 5  # a case-sensitive label does teach case
    lower.requires_grad_(True)
    batch_loss(lower, ["HELLO"], [True], tok).backward()
    assert lower.grad is not None
    up_idx = [tok.encode(c)[0] for c in "HELO"]
    assert (lower.grad[0, :, up_idx] >= -1e-6).all()  # no step raises an upper-case class


@pytest.mark.data
@pytest.mark.parametrize(
    "name", ["sroie_lines_train", "scans_pseudo_train", "ic13_borndigital_train", "ic03_train"]
)
def test_new_real_sources_load_through_the_dataset_readers(name: str) -> None:
    """The v2 sources open with the usual reader; labels have single spaces; scans shrink."""
    import numpy as np
    from _helpers import data_dir

    from crnn_plugin.training.augment import shrink_to_height
    from crnn_plugin.vocab import VOCABS

    ds = open_dataset(data_dir(name), vocab=VOCABS["english_space"], max_len=80)
    assert len(ds) > 100
    for i in range(0, len(ds), max(1, len(ds) // 20)):
        label = ds.label(i)  # type: ignore[attr-defined]  # every reader has label()
        assert label == " ".join(label.split()) and label
    img, _ = ds[0]
    assert img.mode == "RGB"
    small = shrink_to_height(img, np.random.default_rng(0), 10, 18)
    assert small.height <= 18 or small is img  # only ever shrinks


def test_squeeze_narrows_samples() -> None:
    """``squeeze_p`` squeezes variable-width samples horizontally (condensed glyphs, fewer frames)."""
    from crnn_plugin.training.loader import BatchStream, WeightedSource

    words = ("alpha", "beta", "gamma")
    src = WeightedSource(data=[(render_word(w, height=32), w) for w in words], weight=1.0)

    def first_batch(squeeze_p: float) -> torch.Tensor:
        half = (0.5, 0.5, 0.5)
        stream = BatchStream(
            [src], batch_size=32, mean=half, std=half, pool=1, doctr_fraction=0, squeeze_p=squeeze_p
        )
        return stream.group(0)[0].images

    plain, squeezed = first_batch(0.0), first_batch(1.0)
    assert plain.shape[0] == squeezed.shape[0] == 32
    assert squeezed.shape[-1] < 0.85 * plain.shape[-1]  # at most 0.7x, times the +-15 % jitter
