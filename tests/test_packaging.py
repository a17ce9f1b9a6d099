"""The built wheel: what `pip install crnn-plugin` gets works without the source checkout.

Builds the wheel from a copy of this checkout (so no build/ or egg-info is left in it) with pip
(no build isolation: nothing is downloaded), unpacks
it with ``pip install --no-deps --target`` and runs it in a fresh interpreter from another folder,
so the shipped weights, the int8 export and the en-50k lexicon must come from the wheel itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="building the wheel without network needs setuptools")
    dist = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "crnn_plugin"
    local = (".git", ".venv", ".gpu", "runs", "build", "*.egg-info", ".hypothesis", "__pycache__")
    caches = (".mypy_cache", ".ruff_cache", ".pytest_cache")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*local, *caches))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = ["wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)]
    subprocess.run([*pip, *build], check=True)
    (wheel,) = dist.glob("crnn_plugin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("config.json", "model.safetensors", "model.int8.onnx", "README.md"):
        assert f"crnn_plugin/weights/crnn-small-en/{f}" in names
    assert {"crnn_plugin/data/en_50k.txt", "crnn_plugin/py.typed"} <= names
    assert not any(n.startswith(("tests/", "benchmarks/", "runs/")) for n in names)
    (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    requires = [
        x for x in zipfile.ZipFile(wheel).read(meta).decode().splitlines() if x.startswith("Requires-Dist:")
    ]
    torch_reqs = [r for r in requires if r.split()[1].startswith("torch")]
    assert torch_reqs and all("extra ==" in r for r in torch_reqs), torch_reqs  # torch only in extras
    target = tmp_path_factory.mktemp("site")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target


@pytest.mark.parametrize("torch_hidden", [False, True], ids=["installed", "light"])
def test_wheel_runs_without_the_checkout(installed: Path, tmp_path: Path, torch_hidden: bool) -> None:
    """The wheel reads crops with its own weights, export and lexicon; "light": with torch hidden
    (``import torch`` fails), as after ``pip install crnn-plugin`` without extras."""
    script = f"""
import json, sys
if {torch_hidden}:
    sys.modules["torch"] = None
import crnn_plugin
from crnn_plugin import Lexicon, Recognizer
from crnn_plugin.model_folder import _weights_root
rec = Recognizer.from_pretrained()
pred = rec([{str(ROOT / "examples" / "crops" / "crop_00.png")!r}])[0]
print(json.dumps({{"file": crnn_plugin.__file__, "weights": str(_weights_root()), "backend": rec.backend,
                  "text": pred.text, "lexicon": len(Lexicon.load("en-50k")),
                  "torch": sys.modules.get("torch") is not None}}))
"""
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(info["file"]).is_relative_to(installed)
    assert Path(info["weights"]).is_relative_to(installed)
    assert info["backend"] == "onnx-int8"  # the int8 export came with the wheel and matches
    assert info["text"] == "Welcome" and info["lexicon"] > 40_000
    assert not info["torch"]  # the default CPU path never imports torch
