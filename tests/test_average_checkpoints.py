"""scripts/average_checkpoints.py: checkpoints and model folders average to the mean weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from crnn_plugin import CRNN, CRNNConfig, from_pretrained, save_pretrained

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_checkpoints.py"


def _tiny(seed: int, vocab: str = "abc") -> CRNN:
    torch.manual_seed(seed)
    cfg = CRNNConfig(vocab=vocab, conv_channels=(4, 8, 8, 8, 8, 8, 8), hidden_size=8)
    return CRNN(cfg).eval()


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_folders_average_to_the_mean(tmp_path: Path) -> None:
    a, b = _tiny(0), _tiny(1)
    save_pretrained(a, tmp_path / "a")
    save_pretrained(b, tmp_path / "b")
    r = _run(tmp_path / "soup", tmp_path / "a", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    soup = from_pretrained(tmp_path / "soup").state_dict()
    for k, v in a.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(soup[k], (v + b.state_dict()[k]) / 2)
        else:
            assert torch.equal(soup[k], b.state_dict()[k])  # integer buffers: the last input


def test_checkpoints_are_ordered_by_step(tmp_path: Path) -> None:
    a, b = _tiny(0), _tiny(1)
    for name, m, step in (("late.pt", b, 20), ("early.pt", a, 10)):
        ck = {"model": m.state_dict(), "step": step, "model_config": m.config.to_dict()}
        torch.save(ck, tmp_path / name)
    r = _run(tmp_path / "avg", tmp_path / "late.pt", tmp_path / "early.pt")
    assert r.returncode == 0, r.stderr
    assert "[10, 20]" in r.stdout
    got = from_pretrained(tmp_path / "avg").state_dict()
    for k, v in a.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(got[k], (v + b.state_dict()[k]) / 2)


def test_different_vocabularies_are_one_line_error(tmp_path: Path) -> None:
    save_pretrained(_tiny(0, "abc"), tmp_path / "a")
    save_pretrained(_tiny(1, "abd"), tmp_path / "b")
    r = _run(tmp_path / "soup", tmp_path / "a", tmp_path / "b")
    assert r.returncode == 2
    assert "different model configs" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "soup").exists()
