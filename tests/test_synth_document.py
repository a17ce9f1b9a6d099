"""Tests for the synthetic scanned-document generator (skipped without usable fonts)."""

from __future__ import annotations

import hashlib
import pickle
import random
import string
from pathlib import Path

import numpy as np
import pytest
from _helpers import small_font_dirs
from PIL import Image

from crnn_plugin.training.fonts import FontInfo, find_fonts
from crnn_plugin.training.synth_document import SynthDocumentGenerator, preview
from crnn_plugin.training.synth_document_faces import FACES, FacePicker, classify
from crnn_plugin.training.synth_document_scan import _cells, _kept
from crnn_plugin.training.train import SourceConfig, TrainConfig, _build_sources
from crnn_plugin.vocab import VOCABS

VOCAB = VOCABS["english_space"]


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
def gen(fonts: list[FontInfo]) -> SynthDocumentGenerator:
    return SynthDocumentGenerator(VOCAB, seed=3, fonts=fonts)


def _digest(img: Image.Image) -> str:
    return hashlib.sha1(img.tobytes() + repr((img.mode, img.size)).encode()).hexdigest()


def test_samples_are_a_function_of_seed_and_index(gen: SynthDocumentGenerator, fonts: list[FontInfo]) -> None:
    assert len(gen) == 10**9
    first = [(_digest(im), label) for im, label in (gen[i] for i in range(8))]
    again = SynthDocumentGenerator(VOCAB, seed=3, fonts=fonts)
    assert [(_digest(im), label) for im, label in (again[i] for i in reversed(range(8)))] == first[::-1]
    other = SynthDocumentGenerator(VOCAB, seed=4, fonts=fonts)
    assert [(_digest(im), label) for im, label in (other[i] for i in range(8))] != first
    assert _digest(gen[-1][0]) == _digest(gen[len(gen) - 1][0])
    with pytest.raises(IndexError):
        gen[len(gen)]
    clone = pickle.loads(pickle.dumps(gen))  # data-loader workers get a copy
    assert (_digest(clone[5][0]), clone[5][1]) == first[5]


def test_images_are_rgb_height_32_and_labels_in_vocab(gen: SynthDocumentGenerator) -> None:
    labels = []
    for i in range(120):
        img, label = gen[i]
        assert img.mode == "RGB" and img.height == 32
        assert 16 <= img.width <= 25 * 32
        assert label and label == " ".join(label.split()), repr(label)
        assert set(label) <= set(VOCAB), label
        labels.append(label)
    lines = [lab for lab in labels if " " in lab]
    assert 0.2 < len(lines) / len(labels) < 0.6  # ~40 % lines of 2-8 tokens
    assert all(2 <= len(line.split()) <= 8 for line in lines)
    assert any(c in string.punctuation for lab in labels for c in lab)
    assert any(c.isdigit() for lab in labels for c in lab)


@pytest.mark.parametrize("name", ["english", "alphanumeric", "lowercase36"])
def test_a_vocab_without_space_never_yields_spaces(name: str, fonts: list[FontInfo]) -> None:
    vocab = VOCABS[name]
    g = SynthDocumentGenerator(vocab, seed=1, fonts=fonts)
    for i in range(40):
        img, label = g[i]
        assert img.height == 32
        assert label and " " not in label
        assert set(label) <= set(vocab), label


def test_words_override_the_english_list(fonts: list[FontInfo]) -> None:
    words = ["zyxwv", "qwerty"]
    g = SynthDocumentGenerator(string.ascii_lowercase, seed=0, fonts=fonts, words=words)
    labels = [g[i][1] for i in range(60)]
    assert any(lab in words for lab in labels)


def test_faces_classify_document_fonts(fonts: list[FontInfo]) -> None:
    picker = FacePicker(fonts)
    assert {"serif", "sans", "mono", "bold", "italic"} <= {f for font in fonts for f in classify(font)}
    r = random.Random(0)
    for _ in range(50):
        face = picker.face(r)
        assert face in FACES
        font, text = picker.pick(r, face, "Tel: (555) 123-4567")
        assert text == "Tel: (555) 123-4567"
        assert set(text.replace(" ", "")) <= font.charset


def test_glyph_guard_catches_a_lost_dot() -> None:
    cov = np.zeros((12, 6), np.float32)
    cov[2:4, 2:4] = 1.0  # upper dot of a colon
    cov[8:10, 2:4] = 1.0  # lower dot
    boxes = [(2.0, 2.0, 4.0, 10.0)]
    ref = _cells(cov, boxes)
    assert _kept(cov, boxes, ref, [True], gain=1.3)
    lost = cov.copy()
    lost[2:4] = 0.0
    assert not _kept(lost, boxes, ref, [True], gain=1.3)
    merged = cov.copy()
    merged[2:10, 2:4] = 1.0  # the dots run together: reads "!" or "|"
    assert not _kept(merged, boxes, ref, [True], gain=1.3)


def test_synth_doc_source_builds_through_train(tmp_path: Path, font_dirs: list[str]) -> None:
    words_file = tmp_path / "words.txt"
    words_file.write_text("invoice\nreceipt\n", encoding="utf-8")
    src = SourceConfig(kind="synth_doc", font_dirs=font_dirs, words_file=str(words_file), weight=0.5)
    cfg = TrainConfig(vocab="english_space", sources=[src], out_dir=str(tmp_path / "run"))
    cfg.check()
    (source,) = _build_sources(cfg, VOCAB)
    assert isinstance(source.data, SynthDocumentGenerator)
    assert source.infinite and not source.augment and source.weight == 0.5
    assert source.name == "synth_doc"
    img, label = source.data[0]
    assert img.height == 32 and set(label) <= set(VOCAB)


def test_preview_stacks_samples(monkeypatch: pytest.MonkeyPatch, fonts: list[FontInfo]) -> None:
    import crnn_plugin.training.synth_document as sd

    monkeypatch.setattr(sd, "find_fonts", lambda: fonts)
    sheet = preview(4, seed=2)
    assert sheet.mode == "RGB" and sheet.height == 4 * (32 + 6)
