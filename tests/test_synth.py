"""Tests for the synthetic word generator and font discovery (skipped without usable fonts)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import string
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import small_font_dirs
from PIL import Image

from crnn_plugin.training.fonts import FontInfo, find_fonts
from crnn_plugin.training.synth import SynthConfig, SynthWordGenerator

VOCAB = string.digits + string.ascii_letters + string.punctuation
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def font_dirs() -> list[str]:
    dirs = small_font_dirs()
    if not dirs or not find_fonts(dirs):
        pytest.skip("no usable fonts found (run scripts/install_training_deps.sh)")
    return dirs


@pytest.fixture(scope="module")
def fonts(font_dirs: list[str]) -> list[FontInfo]:
    return find_fonts(font_dirs)


@pytest.fixture(scope="module")
def gen(fonts: list[FontInfo]) -> SynthWordGenerator:
    return SynthWordGenerator(VOCAB, seed=7, fonts=fonts)


def _digest(img: Image.Image) -> str:
    return hashlib.sha1(img.tobytes() + repr((img.mode, img.size)).encode()).hexdigest()


def test_find_fonts_cover_required(fonts: list[FontInfo], font_dirs: list[str]) -> None:
    required = string.ascii_letters + string.digits
    assert fonts
    paths = [str(f.path) for f in fonts]
    assert paths == sorted(paths)
    assert len(set(paths)) == len(paths)
    for f in fonts:
        assert isinstance(f, FontInfo)
        assert set(required) <= f.charset
        assert all(0x20 <= ord(c) < 0x7F for c in f.charset)
        assert f.path.is_file()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fonts[0].path = Path("/x")  # type: ignore[misc]
    # cached, and a smaller requirement keeps at least the same fonts
    assert find_fonts(font_dirs) == fonts
    assert set(find_fonts(font_dirs, required="0")) >= set(fonts)


def test_find_fonts_missing_dir() -> None:
    assert find_fonts(["/nonexistent/font/dir"]) == []


def test_determinism(gen: SynthWordGenerator, fonts: list[FontInfo]) -> None:
    a_img, a_lab = gen[5]
    gen[123]  # other calls in between must not matter
    b_img, b_lab = gen[5]
    assert a_lab == b_lab and _digest(a_img) == _digest(b_img)

    other = SynthWordGenerator(VOCAB, seed=7, fonts=fonts)
    c_img, c_lab = other[5]
    assert c_lab == a_lab and _digest(c_img) == _digest(a_img)

    clone = pickle.loads(pickle.dumps(gen))  # as sent to data-loader workers
    d_img, d_lab = clone[5]
    assert d_lab == a_lab and _digest(d_img) == _digest(a_img)

    assert len({_digest(gen[i][0]) for i in range(5, 10)}) == 5
    seed_b = SynthWordGenerator(VOCAB, seed=8, fonts=fonts)
    assert _digest(seed_b[5][0]) != _digest(a_img)


def test_determinism_across_processes(gen: SynthWordGenerator, font_dirs: list[str]) -> None:
    code = (
        "import hashlib, json, string, sys, types\n"
        # skip the package __init__ (it imports torch) to keep the child process fast
        "pkg = types.ModuleType('crnn_plugin')\n"
        "pkg.__path__ = [sys.argv[2]]\n"
        "sys.modules['crnn_plugin'] = pkg\n"
        "from crnn_plugin.training.fonts import find_fonts\n"
        "from crnn_plugin.training.synth import SynthWordGenerator\n"
        "v = string.digits + string.ascii_letters + string.punctuation\n"
        "g = SynthWordGenerator(v, seed=7, fonts=find_fonts(json.loads(sys.argv[1])))\n"
        "out = []\n"
        "for i in (3, 11, 40):\n"
        "    im, lab = g[i]\n"
        "    d = hashlib.sha1(im.tobytes() + repr((im.mode, im.size)).encode()).hexdigest()\n"
        "    out.append([lab, d])\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    res = subprocess.run(
        [sys.executable, "-c", code, json.dumps(font_dirs), str(REPO / "crnn_plugin")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    theirs = json.loads(res.stdout.strip().splitlines()[-1])
    ours = [[gen[i][1], _digest(gen[i][0])] for i in (3, 11, 40)]
    assert theirs == ours


def test_output_sanity(gen: SynthWordGenerator) -> None:
    cfg = gen.config
    assert len(gen) >= 10**6
    for i in range(50):
        img, label = gen[i]
        assert isinstance(img, Image.Image)
        assert img.mode == "RGB"
        assert img.height == cfg.height == 32
        assert cfg.height // 2 <= img.width <= 25 * cfg.height
        assert 1 <= len(label) <= cfg.max_len
        assert label == label.strip() and " " not in label
        assert set(label) <= set(VOCAB)


def test_restricted_vocab_and_custom_height(fonts: list[FontInfo]) -> None:
    vocab = string.digits + string.ascii_lowercase
    g = SynthWordGenerator(vocab, seed=1, fonts=fonts, config=SynthConfig(height=48, max_len=8))
    for i in range(20):
        img, label = g[i]
        assert img.height == 48 and 24 <= img.width <= 25 * 48
        assert 1 <= len(label) <= 8
        assert set(label) <= set(vocab)


def test_words_override(fonts: list[FontInfo]) -> None:
    cfg = SynthConfig(w_random=0, w_number=0, w_datetime=0, w_code=0, w_punct=0)
    g = SynthWordGenerator(VOCAB, seed=0, fonts=fonts, config=cfg, words=["zebracorn", "qux"])
    labels = {g[i][1] for i in range(40)}
    assert {lab.lower() for lab in labels} <= {"zebracorn", "qux"}
    assert len({lab.lower() for lab in labels}) == 2


def test_index_errors(gen: SynthWordGenerator) -> None:
    with pytest.raises(IndexError):
        gen[len(gen)]
    with pytest.raises(TypeError):
        gen[1.5]  # type: ignore[index]
