"""The light install: recognition, lexicons, regions and the CLI without PyTorch.

Each subprocess here hides torch (``sys.modules["torch"] = None``: ``import torch`` fails, as in a
virtualenv without it), so these run the torch-free path in the full environment too; ``.ci/run``
also runs them (``pytest -m light``) in a virtualenv that has no torch at all.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import REPO, data_dir, render_word

from crnn_plugin import DeviceError, Lexicon, Recognizer, Tokenizer, WeightsError, best_path
from crnn_plugin import backend as backend_module
from crnn_plugin.ctc import log_softmax
from crnn_plugin.model_folder import INT8_NAME, resolve_model_dir

pytestmark = pytest.mark.light

CROPS = REPO / "examples" / "crops"
#: Prefix of every subprocess: torch cannot be imported (nor found by importlib.util.find_spec).
NO_TORCH = "import sys; sys.modules['torch'] = None\n"


def run_python(code: str, *, cwd: Path = REPO, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH + code], cwd=cwd, env=env, capture_output=True, text=True, check=check
    )


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: the backend choice believes torch is not installed."""
    monkeypatch.setattr(backend_module, "torch_installed", lambda: False)


def test_recognizer_lexicons_and_regions_run_without_torch() -> None:
    crops = sorted(str(p) for p in CROPS.glob("*.png"))
    code = f"""
import json
from crnn_plugin import Lexicon, Recognizer, recognize_regions
from PIL import Image
rec = Recognizer.from_pretrained()
crops = {crops!r}
plain = rec(crops)
lex = rec(crops, lexicon=Lexicon.load("en-50k"))
beam = rec(crops[:3], beam_width=5)
img = Image.open(crops[0]).convert("RGB")
regions = recognize_regions(rec, img, boxes=[[0, 0, img.width, img.height]])
print(json.dumps({{
    "backend": rec.backend, "device": str(rec.device), "torch": sys.modules.get("torch") is not None,
    "plain": [(p.text, p.confidence) for p in plain], "lexicon": [p.text for p in lex],
    "beam": [p.text for p in beam], "regions": [t for _, t, _ in regions],
}}))
"""
    out = json.loads(run_python(code).stdout.strip().splitlines()[-1])
    assert out["backend"] == "onnx-int8" and out["device"] == "cpu" and not out["torch"]
    here = Recognizer.from_pretrained(device="cpu")(crops)  # this process: torch may be installed
    assert [t for t, _ in out["plain"]] == [p.text for p in here]
    assert all(abs(c - p.confidence) < 1e-6 for (_, c), p in zip(out["plain"], here))
    assert out["lexicon"][0] == out["plain"][0][0] == "Welcome" and out["regions"] == ["Welcome"]
    assert len(out["beam"]) == 3


def test_cli_recognize_and_info_without_torch(tmp_path: Path) -> None:
    code = f"""
from crnn_plugin.cli import main
sys.exit(main(["recognize", {str(CROPS)!r}, "-o", {str(tmp_path / "out.jsonl")!r}, "-q"]))
"""
    run_python(code)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and rows[0]["text"] == "Welcome" and not any("error" in r for r in rows)
    info = json.loads(run_python("from crnn_plugin.cli import main\nsys.exit(main(['info']))").stdout)
    assert info["backend"] == "onnx-int8" and info["torch"] is None
    assert info["backends"]["onnx-int8"].startswith("available")
    assert info["backends"]["torch"] == "not installed: pip install 'crnn-plugin[torch]'"
    assert info["parameters"] > 1_000_000 and info["precision"] == "int8 conv + LSTM"


def test_cli_evaluate_without_torch(tmp_path: Path) -> None:
    """evaluate reads a labels.tsv folder and scores it (lexicon-free and per-image) without torch."""
    bench = tmp_path / "bench"
    bench.mkdir()
    truth = {"crop_00.png": "Welcome", "crop_01.png": "OPEN", "crop_02.png": "Coffee"}
    for name in truth:
        shutil.copy(CROPS / name, bench / name)
    (bench / "labels.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in truth.items()))
    (bench / "lexicon50.tsv").write_text("".join(f"{k}\t{v},other\n" for k, v in truth.items()))
    args = ["evaluate", str(bench), "--lexicon", "per-image", "--format", "json"]
    out = run_python(f"from crnn_plugin.cli import main\nsys.exit(main({args!r}))").stdout
    row = json.loads(out.strip().splitlines()[-1])
    assert row["images"] == 3 and row["acc36"] == 1.0, row


def test_importing_the_light_path_imports_no_torch() -> None:
    """Even where torch is installed, reading crops never imports it (the CLI starts fast)."""
    code = f"""
import sys
from crnn_plugin import Lexicon, Recognizer, recognize_regions
from crnn_plugin.cli import main
rec = Recognizer.from_pretrained()
rec({str(CROPS / "crop_00.png")!r}, lexicon=Lexicon(["Welcome"]))
print("torch" in sys.modules)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_a_folder_without_an_export_says_to_install_torch(tmp_path: Path, no_torch: None) -> None:
    folder = tmp_path / "no-export"
    shutil.copytree(resolve_model_dir(), folder)
    (folder / INT8_NAME).unlink()
    with pytest.raises(
        WeightsError, match=r"has no model\.int8\.onnx .*export_onnx\.py.*pip install 'crnn-plugin\[torch\]'"
    ):
        Recognizer.from_pretrained(folder)
    with pytest.raises(WeightsError, match=r"backend='torch' .*pip install 'crnn-plugin\[torch\]'"):
        Recognizer.from_pretrained(backend="torch")
    with pytest.raises(WeightsError, match=r"amp=False .*PyTorch is not installed"):
        Recognizer.from_pretrained(amp=False)
    with pytest.raises(DeviceError, match=r"device 'cuda' needs PyTorch"):
        Recognizer.from_pretrained(device="cuda")
    rec = Recognizer.from_pretrained()  # the shipped folder has its export: fine
    with pytest.raises(WeightsError, match="needs PyTorch"):
        _ = rec.model  # the PyTorch module (docTR, exports) is what needs torch


def test_a_stale_export_without_torch_is_an_error_naming_both(tmp_path: Path, no_torch: None) -> None:
    """Weights changed after the export: PyTorch would have run them; without it, say so."""
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "stale"
    shutil.copytree(resolve_model_dir(), folder)
    weights = load_file(str(folder / "model.safetensors"))
    weights["classifier.bias"] = weights["classifier.bias"] + 0.5
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(WeightsError, match=r"digest mismatch.*PyTorch, which would run the weights"):
        Recognizer.from_pretrained(folder)
    with pytest.raises(WeightsError, match="digest mismatch"):
        Recognizer.from_pretrained(folder, backend="onnx")


def test_cli_without_an_export_exits_2_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "no-export"
    shutil.copytree(resolve_model_dir(), folder)
    (folder / INT8_NAME).unlink()
    img = tmp_path / "a.png"
    render_word("ok").save(img)
    args = ["recognize", str(img), "--model", str(folder)]
    code = f"from crnn_plugin.cli import main\nsys.exit(main({args!r}))"
    out = run_python(code, check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "pip install 'crnn-plugin[torch]'" in out.stderr, out.stderr


def _torch_best_path(logits: np.ndarray, tok: Tokenizer) -> list[tuple[str, float]]:
    """The PyTorch decoding the Recognizer used before the light install: greedy path, confidence
    from ``F.ctc_loss`` in float32 (the reference the numpy path must reproduce)."""
    import torch
    import torch.nn.functional as F

    from crnn_plugin.ctc import _tidy_spaces

    lp = torch.from_numpy(logits).float().log_softmax(-1)
    blank = lp.shape[-1] - 1
    labels = []
    for path in lp.argmax(-1).tolist():
        lab = [c for t, c in enumerate(path) if c != blank and (t == 0 or c != path[t - 1])]
        labels.append(_tidy_spaces(lab, [0.0] * len(lab), tok.space)[0])
    n, t = lp.shape[0], lp.shape[1]
    nll = F.ctc_loss(
        lp.transpose(0, 1),
        torch.tensor([i for lab in labels for i in lab], dtype=torch.long),
        torch.full((n,), t, dtype=torch.long),
        torch.tensor([len(lab) for lab in labels], dtype=torch.long),
        blank=blank,
        reduction="none",
    )
    return [(tok.decode(lab), min(1.0, math.exp(-float(s)))) for lab, s in zip(labels, nll)]


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["iiit5k_test", "svt_test"])
def test_same_readings_as_the_torch_decoding_on_the_test_sets(name: str) -> None:
    """Every crop of the two test sets, through the int8 backend in the Recognizer's batches: the
    numpy decoding gives the texts of the PyTorch decoding, confidences within 1e-4."""
    pytest.importorskip("torch", reason="the reference decoding is PyTorch's")
    folder = data_dir(name)
    rec = Recognizer.from_pretrained(device="cpu", backend="onnx")
    paths = [
        folder / line.split("\t")[0] for line in (folder / "labels.tsv").read_text().splitlines() if line
    ]
    arrays = [rec.prepare(p) for p in paths]
    worst, texts = 0.0, 0
    for _, batch in rec.batches(arrays):
        logits = rec.logits(batch)
        ours = best_path(logits, rec.tokenizer)
        ref = _torch_best_path(logits, rec.tokenizer)
        texts += sum(d.text == t for d, (t, _) in zip(ours, ref))
        worst = max([worst] + [abs(d.confidence - c) for d, (_, c) in zip(ours, ref)])
        assert [d.text for d in ours] == [t for t, _ in ref]
    assert texts == len(paths) and worst < 1e-4, worst


def test_log_probs_are_the_backends_logits_normalised() -> None:
    rec = Recognizer.from_pretrained(device="cpu")
    arrays = [rec.prepare(render_word(w)) for w in ("cat", "elephant")]
    (lp_a, dec_a), (lp_b, _) = rec.log_probs_and_decode(arrays)
    assert lp_a.shape[0] < lp_b.shape[0]  # each crop's own frames
    assert np.allclose(np.exp(lp_a).sum(-1), 1.0, atol=1e-5)
    _, batch = next(rec.batches(arrays[:1]))  # alone, padded as in any batch
    alone = log_softmax(rec.logits(batch))[0, : lp_a.shape[0]]
    assert np.allclose(np.exp(lp_a), np.exp(alone), atol=2e-3)  # int8 LSTM: a per-batch scale
    assert dec_a.text == rec(render_word("cat"))[0].text
    assert isinstance(Lexicon(["cat"]).correct(lp_a, dec_a, rec.config.vocab).text, str)
