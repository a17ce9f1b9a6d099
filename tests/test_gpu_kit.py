"""The hooks the GPU training kit uses: synth fonts and words from given files, and resuming on CUDA."""

from __future__ import annotations

import functools
import os
import shutil
import string
from pathlib import Path

import pytest
import torch
from test_training import make_tsv_folder, tiny_cfg

from crnn_plugin.training import synth
from crnn_plugin.training.fonts import DEFAULT_FONT_DIRS, FontInfo, find_fonts
from crnn_plugin.training.train import SourceConfig, TrainConfig, _build_sources, train

REPO = Path(__file__).resolve().parents[1]
VOCAB = string.digits + string.ascii_letters + string.punctuation
WORDS = ["zebra", "quartz", "mango", "lantern", "pixel"]


def _one_font() -> FontInfo:
    """A usable font without caps-like lowercase letters, from a small font folder (or skip)."""
    pytest.importorskip("fontTools")
    roots = [os.path.expanduser(d) for d in DEFAULT_FONT_DIRS] + [str(REPO / ".gpu" / "fonts")]
    dirs = []
    for root in roots:
        for d, _sub, files in os.walk(root):
            if any(f.lower().endswith((".ttf", ".otf")) for f in files):
                dirs.append(d)
    dirs.sort(key=lambda d: (not any(k in d.lower() for k in ("dejavu", "liberation", "noto")), d))
    for d in dirs[:4]:
        for f in find_fonts([d]):
            if not f.ambiguous and set(string.ascii_lowercase) <= f.charset:
                return f
    pytest.skip("no usable font found")


def test_synth_source_reads_font_dirs_and_words_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    font = _one_font()
    (tmp_path / "fonts" / "sub").mkdir(parents=True)
    shutil.copy(font.path, tmp_path / "fonts" / "sub" / font.path.name)
    words_file = tmp_path / "words.txt"
    words_file.write_text("\n".join(WORDS) + "\n\n", encoding="utf-8")
    # English words only, so that every label is a case variant of a word of the file
    only_words = functools.partial(
        synth.SynthConfig, w_random=0, w_number=0, w_datetime=0, w_code=0, w_punct=0
    )
    monkeypatch.setattr(synth, "SynthConfig", only_words)
    src = SourceConfig(font_dirs=[str(tmp_path / "fonts")], words_file=str(words_file))
    (source,) = _build_sources(TrainConfig(sources=[src]), VOCAB)
    gen = source.data
    assert isinstance(gen, synth.SynthWordGenerator)
    assert [f.path for f in gen.fonts] == [tmp_path / "fonts" / "sub" / font.path.name]
    labels = [gen[i][1] for i in range(12)]
    assert all(label.lower() in WORDS for label in labels), labels


def test_synth_source_defaults_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, object]] = []

    def record(vocab: str, **kw: object) -> list[object]:
        seen.append(kw)
        return []

    monkeypatch.setattr(synth, "SynthWordGenerator", record)
    _build_sources(TrainConfig(sources=[SourceConfig()]), VOCAB)
    assert seen == [{"seed": 0, "fonts": None, "words": None}]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """torch.load(map_location="cuda") puts the saved RNG states on the GPU; resuming must still work."""
    folder = make_tsv_folder(tmp_path / "data")
    cfg = tiny_cfg(tmp_path / "run", folder, max_steps=3)
    train(cfg)
    final = train(tiny_cfg(tmp_path / "run", folder, max_steps=6))
    ck = torch.load(Path(cfg.out_dir) / "checkpoint.pt", weights_only=True)
    assert ck["step"] == 6 and "cuda" in ck["rng"]
    assert (final / "model.safetensors").is_file()
