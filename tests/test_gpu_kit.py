"""The GPU training kit (scripts/gpu_kit.py, scripts/GPU.md) and the hooks it uses: synth fonts and
words from given files, the GPU config mirroring the CPU one, the re-encoded data, the fp16 start
model that train's init_from reads, the log a chain of calls keeps, and resuming on CUDA."""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import io
import json
import os
import shutil
import string
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from test_training import make_tsv_folder, tiny_cfg

from crnn_plugin import CRNN, from_pretrained, save_pretrained
from crnn_plugin.training import synth
from crnn_plugin.training.datasets import open_dataset
from crnn_plugin.training.fonts import DEFAULT_FONT_DIRS, FontInfo, find_fonts
from crnn_plugin.training.train import SourceConfig, TrainConfig, _build_sources, train

REPO = Path(__file__).resolve().parents[1]
VOCAB = string.digits + string.ascii_letters + string.punctuation
WORDS = ["zebra", "quartz", "mango", "lantern", "pixel"]
CPU_CFG = REPO / "configs" / "crnn_v2_en_stage5.json"  # the recipe the GPU continues
GPU_CFG = REPO / "configs" / "crnn_v2_en_gpu.json"


@pytest.fixture(scope="module")
def kit() -> ModuleType:
    """scripts/gpu_kit.py, imported with scripts/ on sys.path (scripts/ is not a package; the kit's
    modules import their siblings, as they do when Python runs scripts/gpu_kit.py)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO / "scripts"))
        return importlib.import_module("gpu_kit")


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


def test_synth_source_reads_font_dirs_and_words_file(tmp_path: Path) -> None:
    font = _one_font()
    (tmp_path / "fonts" / "sub").mkdir(parents=True)
    shutil.copy(font.path, tmp_path / "fonts" / "sub" / font.path.name)
    words_file = tmp_path / "words.txt"
    words_file.write_text("\n".join(WORDS) + "\n\n", encoding="utf-8")
    # English words only, single words, so that every label is a case variant of a word of the file
    only_words = {"w_random": 0, "w_number": 0, "w_datetime": 0, "w_code": 0, "w_punct": 0, "p_line": 0}
    src = SourceConfig(
        font_dirs=[str(tmp_path / "fonts")], words_file=str(words_file), synth_options=only_words
    )
    (source,) = _build_sources(TrainConfig(sources=[src]), VOCAB)
    gen = source.data
    assert isinstance(gen, synth.SynthWordGenerator)
    assert [f.path for f in gen.fonts] == [tmp_path / "fonts" / "sub" / font.path.name]
    labels = [gen[i][1] for i in range(12)]
    assert all(label.lower() in WORDS for label in labels), labels


def test_synth_source_defaults_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without font_dirs, words_file and synth_options: system fonts, wordfreq, default configs."""
    from crnn_plugin.training import synth_document

    seen: list[dict[str, object]] = []

    def record(vocab: str, **kw: object) -> list[object]:
        seen.append(kw)
        return []

    monkeypatch.setattr(synth, "SynthWordGenerator", record)
    monkeypatch.setattr(synth_document, "SynthDocumentGenerator", record)
    _build_sources(TrainConfig(sources=[SourceConfig(), SourceConfig(kind="synth_doc")]), VOCAB)
    assert [{k: kw[k] for k in ("seed", "fonts", "words")} for kw in seen] == [
        {"seed": 0, "fonts": None, "words": None}
    ] * 2
    assert seen[0]["config"] == synth.SynthConfig() and seen[1]["config"] == synth_document.SynthDocConfig()


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


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _without_kit_paths(src: dict[str, Any]) -> dict[str, Any]:
    """A generator source less what the kit replaces: font and word files, photo folders."""
    out = {k: v for k, v in src.items() if k not in ("font_dirs", "words_file", "synth_options")}
    options = {k: v for k, v in (src.get("synth_options") or {}).items() if k != "photo_dirs"}
    if options:
        out["synth_options"] = options
    return out


def test_gpu_config_mirrors_the_cpu_config() -> None:
    """Same model and data mix as the CPU run, with the kit's paths; a source added to one config
    (e.g. synth_doc) must be added to the other, and the kit then packs what it reads."""
    cpu, gpu = _load(CPU_CFG), _load(GPU_CFG)
    TrainConfig.from_dict(gpu)  # only known keys
    for key in ("arch", "vocab", "max_width", "doctr_fraction"):
        assert gpu[key] == cpu[key], key
    hint = f"{GPU_CFG.name} must list {CPU_CFG.name}'s sources in order, with .gpu/ paths"
    assert [s.get("kind", "synth") for s in gpu["sources"]] == [
        s.get("kind", "synth") for s in cpu["sources"]
    ], hint
    for c, g in zip(cpu["sources"], gpu["sources"]):
        if g.get("kind", "synth") == "folder":
            assert (  # a split of the shared data, or one made from it (recased receipt lines)
                c["path"].startswith(("../shared/data/", "runs/recase/"))
                and g["path"] == ".gpu/data/" + c["path"].split("/")[-1]
            ), hint
            rest_c, rest_g = dict(c), dict(g)
        else:  # generators read the kit's fonts, words and photos (the device has none of them)
            assert g["font_dirs"] == [".gpu/fonts"] and g["words_file"] == ".gpu/words.txt", hint
            rest_c, rest_g = _without_kit_paths(c), _without_kit_paths(g)
            if g["kind"] == "synth":
                assert g["synth_options"]["photo_dirs"] == [".gpu/photos"], hint
        rest_c.pop("path", None)
        rest_g.pop("path", None)
        assert rest_g == rest_c, hint
    assert gpu["batch_size"] == 256 and gpu["workers"] == 14 and gpu["val_dirs"] == []
    assert gpu["init_from"] == ".gpu/start" and gpu["out_dir"] == ".gpu/run"


def test_the_kit_packs_every_split_the_gpu_config_reads(kit: ModuleType) -> None:
    splits = kit.config_splits(GPU_CFG)
    folders = [s["path"] for s in _load(GPU_CFG)["sources"] if s.get("kind", "synth") == "folder"]
    assert [".gpu/data/" + s for s in splits] == list(dict.fromkeys(folders))  # once per split
    assert not [s for s in splits if "test" in s or "val" in s]


def test_encode_greys_caps_and_quantises(kit: ModuleType) -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (60, 90), dtype=np.uint8)
    grey[:, :30], grey[:, 60:] = 0, 255  # black and white stay exactly black and white
    rgb_grey = Image.fromarray(
        np.stack([grey, grey, np.clip(grey.astype(int) + 3, 0, 255).astype(np.uint8)], -1)
    )
    colour = Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
    assert kit.is_grey(rgb_grey) and not kit.is_grey(colour)
    data, suffix = kit.encode(rgb_grey, kit.Encoding.parse("pgm:32:17"))
    back = Image.open(io.BytesIO(data))
    assert suffix == ".pgm" and back.mode == "L" and back.size == (48, 32)
    values = set(np.unique(np.asarray(back)).tolist())
    assert values <= set(range(0, 256, 17)) and {0, 255} <= values
    data, suffix = kit.encode(colour, kit.Encoding.parse("webp:48:90"))
    back = Image.open(io.BytesIO(data))
    assert suffix == ".webp" and back.size == (30, 20) and back.mode == "RGB"
    data, suffix = kit.encode(colour, kit.Encoding("jpeg", 10, 90))
    assert suffix == ".jpg" and Image.open(io.BytesIO(data)).size == (15, 10)
    with pytest.raises(ValueError):
        kit.Encoding.parse("png:32:9")


def _data_args(src: Path, out: Path, split: str, *extra: str) -> argparse.Namespace:
    """``gpu_kit.py data SRC OUT SPLIT [--extra ...]``'s parsed arguments."""
    return argparse.Namespace(
        src=str(src), out=str(out), splits=[split], config=None, enc=[], max_items=[], extra=list(extra)
    )


def test_data_keeps_every_labels_file_and_sample(kit: ModuleType, tmp_path: Path) -> None:
    src = make_tsv_folder(tmp_path / "src" / "words_train")
    shutil.copy(src / "labels.tsv", src / "labels_casesensitive.tsv")
    (src / "lexicon50.tsv").write_text("not a labels file\n", encoding="utf-8")
    args = _data_args(tmp_path / "src", tmp_path / "out", "words_train")
    kit.cmd_data(args)
    out = tmp_path / "out" / "words_train"
    assert sorted(p.name for p in out.glob("*.tsv")) == ["labels.tsv", "labels_casesensitive.tsv"]
    for name in ("labels.tsv", "labels_casesensitive.tsv"):
        a, b = open_dataset(src, labels=name), open_dataset(out, labels=name)
        assert [lab for _, lab in a] == [lab for _, lab in b]  # type: ignore[attr-defined]
        assert b[0][0].height == min(a[0][0].height, 48)
    args.out, args.max_items = str(tmp_path / "sub"), ["words_train=3"]
    kit.cmd_data(args)
    assert len((tmp_path / "sub" / "words_train" / "labels.tsv").read_text().splitlines()) == 3
    args.splits = ["words_test"]
    with pytest.raises(SystemExit, match="never travel"):
        kit.cmd_data(args)


def test_data_packs_an_extra_folder_that_links_its_images(kit: ModuleType, tmp_path: Path) -> None:
    """A recased folder (scripts/recase_labels.py: labels + a ``source`` link) packs under its own
    split name; image paths that leave the folder, and folders linking a test split, are refused."""
    src = make_tsv_folder(tmp_path / "shared" / "lines_train")
    recased = tmp_path / "runs" / "lines_recased"
    recased.mkdir(parents=True)
    (recased / "source").symlink_to(src, target_is_directory=True)
    rows = [line.split("\t") for line in (src / "labels.tsv").read_text().splitlines()]
    (recased / "labels.tsv").write_text("".join(f"source/{rel}\t{lab.lower()}\n" for rel, lab in rows))
    args = _data_args(tmp_path / "shared", tmp_path / "out", "lines_recased", f"lines_recased={recased}")
    kit.cmd_data(args)
    packed = open_dataset(tmp_path / "out" / "lines_recased")
    assert [lab for _, lab in packed] == [lab.lower() for _, lab in rows]  # type: ignore[attr-defined]
    assert not (tmp_path / "out" / "lines_recased" / "source").is_symlink()  # real files travel
    (recased / "labels.tsv").write_text(f"../lines_train/{rows[0][0]}\t{rows[0][1]}\n")
    with pytest.raises(SystemExit, match="inside the folder"):
        kit.cmd_data(args)
    (recased / "source").unlink()
    (recased / "source").symlink_to(make_tsv_folder(tmp_path / "shared" / "lines_val"))
    with pytest.raises(SystemExit, match="never travel"):
        kit.cmd_data(args)


def _sums_ok(folder: Path) -> bool:
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
            return False
    return True


def _write_log(path: Path, rows: list[tuple[int, float]]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "hours", "loss", "lr", "crops_per_s", "metrics"])
        for step, hours in rows:
            w.writerow([step, f"{hours:.3f}", "1.0", "1e-4", "100.0", ""])
    return path


def test_start_is_fp16_loads_and_counts_calls(kit: ModuleType, tiny_model: CRNN, tmp_path: Path) -> None:
    from safetensors import safe_open

    save_pretrained(tiny_model, tmp_path / "model")
    info = kit.make_start(tmp_path / "model", tmp_path / "start")
    start = tmp_path / "start"
    assert info["calls"] == 0 and _sums_ok(start)
    with safe_open(str(start / "model.safetensors"), "pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    back = from_pretrained(start)
    x = torch.rand(2, 3, 32, 64)
    with torch.no_grad():
        assert torch.allclose(back(x), tiny_model(x), atol=0.05)
    # after a call: its steps and hours added, one more call; the merged log continues the steps
    log1 = _write_log(tmp_path / "call1.csv", [(50, 0.01), (100, 0.02)])
    merged = tmp_path / "gpu" / "train_log.csv"
    assert kit.append_log(log1, merged, steps=0, hours=0.0) == 2
    info = kit.make_start(tmp_path / "model", tmp_path / "start", prev=start, call_log=log1)
    assert (info["calls"], info["gpu_steps"]) == (1, 100) and kit.read_start(start)["calls"] == 1
    again = kit.make_start(tmp_path / "model", tmp_path / "s2", prev=start, call_log=log1, call_steps=103)
    assert again["gpu_steps"] == 100 + 103  # train.txt's count (the log's last row can be a few steps short)
    log2 = _write_log(tmp_path / "call2.csv", [(50, 0.01)])
    kit.append_log(log2, merged, steps=info["gpu_steps"], hours=info["gpu_hours"])
    with open(merged, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [50, 100, 150] and rows[-1]["hours"] == "0.030"


def test_train_starts_from_a_half_precision_start(kit: ModuleType, tmp_path: Path) -> None:
    """The warm restart: no checkpoint.pt in out_dir, so train() reads init_from, an fp16 folder."""
    torch.set_num_threads(1)
    folder = make_tsv_folder(tmp_path / "data")
    cfg = tiny_cfg(tmp_path, folder, max_steps=0)
    torch.manual_seed(1)
    save_pretrained(CRNN(cfg.model_config()), tmp_path / "model")
    kit.make_start(tmp_path / "model", tmp_path / "start")
    cfg.init_from = str(tmp_path / "start")
    final = train(cfg)
    got, want = from_pretrained(final).state_dict(), from_pretrained(tmp_path / "start").state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)
