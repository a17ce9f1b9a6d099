"""save_pretrained / from_pretrained: exact round trip, strict loading, real huggingface_hub paths."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
import torch

from crnn_plugin import CRNN, ConfigError, WeightsError, from_pretrained, save_pretrained
from crnn_plugin.hub import DEFAULT_MODEL, shipped_models


def test_round_trip_is_bit_exact(tiny_model: CRNN, tmp_path: Path) -> None:
    save_pretrained(tiny_model, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    loaded = from_pretrained(tmp_path / "m")
    a, b = tiny_model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert loaded.config == tiny_model.config
    x = torch.randn(2, 3, 32, 77)
    assert torch.equal(tiny_model(x), loaded(x))


def test_saved_files_share_one_mode(tiny_model: CRNN, tmp_path: Path) -> None:
    out = save_pretrained(tiny_model, tmp_path / "m")
    modes = {f.name: f.stat().st_mode & 0o777 for f in out.iterdir()}
    assert len(set(modes.values())) == 1, modes  # safetensors alone would write 0600


def test_safetensors_header(tiny_model: CRNN, tmp_path: Path) -> None:
    save_pretrained(tiny_model, tmp_path)
    raw = (tmp_path / "model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert header["__metadata__"]["format"] == "pt"
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    assert set(tensors) == set(tiny_model.state_dict())
    assert tensors["classifier.weight"]["dtype"] == "F32"
    assert tensors["classifier.weight"]["shape"] == list(tiny_model.classifier.weight.shape)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["vocab"] == tiny_model.vocab and cfg["arch"] == "tiny"


def test_missing_folder_and_files(tiny_model: CRNN, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not a folder, a shipped model"):
        from_pretrained(str(tmp_path / "nope"))
    save_pretrained(tiny_model, tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="missing model.safetensors"):
        from_pretrained(tmp_path / "m")


def test_config_weights_mismatch_names_keys(tiny_model: CRNN, tmp_path: Path) -> None:
    save_pretrained(tiny_model, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["hidden_size"] = 24
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match=r"shape mismatches.*classifier\.weight") as e:
        from_pretrained(tmp_path)
    assert "model.safetensors" in str(e.value) and "config.json" in str(e.value)
    cfg["hidden_size"] = 16
    cfg["batchnorm"] = "paper"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match="unexpected tensors"):
        from_pretrained(tmp_path)


def test_unknown_config_key_and_bad_json(tiny_model: CRNN, tmp_path: Path) -> None:
    save_pretrained(tiny_model, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["dropout_rate"] = 0.1
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=r"config.json: unknown config keys \['dropout_rate'\]"):
        from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        from_pretrained(tmp_path)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hidden_size", "128", r"hidden_size must be an integer >= 1, got '128' \(str\)"),
        ("hidden_size", None, r"hidden_size must be an integer >= 1, got None"),
        ("num_lstm_layers", 0, r"num_lstm_layers must be an integer >= 1, got 0"),
        ("dropout", "0.1", r"dropout must be a number in \[0, 1\)"),
        ("input_height", "32", r"input_height must be an integer, got '32' \(str\)"),
        ("vocab", ["a", "b"], r"vocab must be a string"),
        ("conv_channels", [8, 8, 16, 16, 32, 32, "32"], r"conv_channels must be a list of integers"),
        ("std", [0.5, 0, 0.5], r"std must be a list of numbers > 0"),
    ],
)
def test_config_values_of_the_wrong_type(
    tiny_model: CRNN, tmp_path: Path, key: str, value: object, message: str
) -> None:
    save_pretrained(tiny_model, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg[key] = value
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match="config.json: " + message):
        from_pretrained(tmp_path)


def test_config_without_vocab_and_weights_of_another_dtype(tiny_model: CRNN, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_pretrained(tiny_model, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if k != "vocab"}))
    with pytest.raises(ConfigError, match="config.json: no 'vocab'"):
        from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    state = load_file(str(tmp_path / "model.safetensors"))
    save_file(
        {k: v.half() if v.is_floating_point() else v for k, v in state.items()},
        str(tmp_path / "model.safetensors"),
    )
    from_pretrained(tmp_path)  # float16 is a float: converted on load
    save_file({k: v.half() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    from_pretrained(tmp_path)  # cast wholesale: BatchNorm's int64 step counter too, harmless
    save_file({k: v.long() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightsError, match=r"dtype mismatches.*file torch\.int64 vs model torch\.float32"):
        from_pretrained(tmp_path)


def test_corrupt_safetensors(tiny_model: CRNN, tmp_path: Path) -> None:
    save_pretrained(tiny_model, tmp_path)
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        from_pretrained(tmp_path)


def _populate_hf_cache(cache: Path, repo_id: str, src: Path, commit: str, ref: str = "main") -> Path:
    """Lay out files exactly as huggingface_hub's cache does (blobs, snapshots, refs)."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (repo / "blobs").mkdir(exist_ok=True)
    for f in src.iterdir():
        shutil.copy(f, repo / "blobs" / f"{commit[:8]}-{f.name}")
        (snap / f.name).symlink_to(Path("../../blobs") / f"{commit[:8]}-{f.name}")
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    return snap


def test_load_from_hf_cache_offline(
    tiny_model: CRNN, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real huggingface_hub snapshot_download resolves the cache with HF_HUB_OFFLINE=1 (no mock)."""
    import huggingface_hub.constants as hf_constants

    save_pretrained(tiny_model, tmp_path / "src")
    cache = tmp_path / "hub"
    commit = "a" * 40
    _populate_hf_cache(cache, "someone/crnn-tiny", tmp_path / "src", commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    model = from_pretrained("someone/crnn-tiny", cache_dir=cache)
    assert torch.equal(model.classifier.weight, tiny_model.classifier.weight)
    # a revision that is only a branch name in the cache resolves through refs/
    other = "b" * 40
    _populate_hf_cache(cache, "someone/crnn-tiny", tmp_path / "src", other, ref="v2")
    assert from_pretrained("someone/crnn-tiny", revision="v2", cache_dir=cache) is not None
    # a revision pinned to a commit sha is found in snapshots/ without asking the Hub for its files
    assert from_pretrained("someone/crnn-tiny", revision=other, cache_dir=cache) is not None
    with pytest.raises(WeightsError, match="no such local folder, not in the Hugging Face cache"):
        from_pretrained("someone/absent", cache_dir=cache)
    with pytest.raises(WeightsError, match="empty model name"):
        from_pretrained("", cache_dir=cache)


def test_shipped_default_model_loads() -> None:
    models = shipped_models()
    if DEFAULT_MODEL not in models:
        pytest.skip("no shipped weights in this checkout")
    model = from_pretrained()
    assert model.config.arch and not model.training
    assert model(torch.zeros(1, 3, 32, 64)).shape[-1] == len(model.vocab) + 1


def test_push_to_hub_uploads_the_three_files(tiny_model: CRNN, monkeypatch: pytest.MonkeyPatch) -> None:
    """MOCK: the Hub cannot be reached from here, so HfApi's two network calls are replaced by
    recorders; everything else (the folder we upload) is real."""
    import huggingface_hub

    seen: dict[str, Any] = {}

    def create_repo(self, repo_id: str, **kw: object) -> None:  # type: ignore[no-untyped-def]
        seen["repo"] = (repo_id, kw.get("exist_ok"))

    def upload_folder(self, *, repo_id: str, folder_path: str, **kw: object) -> str:  # type: ignore[no-untyped-def]
        seen["files"] = sorted(p.name for p in Path(folder_path).iterdir())
        seen["config"] = json.loads((Path(folder_path) / "config.json").read_text())
        return f"https://huggingface.co/{repo_id}/commit/abc"

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    from crnn_plugin import push_to_hub

    url = push_to_hub(tiny_model, "me/tiny")
    assert seen["repo"] == ("me/tiny", True)
    assert seen["files"] == ["README.md", "config.json", "model.safetensors"]
    assert seen["config"]["arch"] == "tiny" and url.endswith("/commit/abc")


# --- untrusted model folders (audit findings): one named error, nothing built that the weights do not back


def _hostile(tmp_path: Path, tiny_model: CRNN, **changes: object) -> Path:
    folder = tmp_path / "hostile"
    save_pretrained(tiny_model, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def _never_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """A config the weights do not back must fail before any layer is built."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was built before the config was checked against the weights")

    monkeypatch.setattr("crnn_plugin.hub.CRNN", refuse)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hidden_size": 10**9}, r"hidden_size is 1000000000 in the config, 16 in the weights"),
        ({"conv_channels": [10**9] * 7}, r"conv_channels are \[1000000000, .*\] in the config, \[8, 16,"),
        ({"num_lstm_layers": 10**7}, r"num_lstm_layers is 10000000 in the config, the weights hold 2"),
        ({"vocab": "abc"}, r"vocab has 3 characters in the config, the weights have 62"),
    ],
)
def test_config_is_checked_against_the_header_before_building(
    tiny_model: CRNN,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, object],
    message: str,
) -> None:
    import time

    folder = _hostile(tmp_path, tiny_model, **changes)
    _never_build(monkeypatch)
    t0 = time.perf_counter()
    with pytest.raises(WeightsError, match=message) as e:
        from_pretrained(folder)
    assert time.perf_counter() - t0 < 2.0  # nothing sized by the config was built or listed
    assert str(folder / "model.safetensors") in str(e.value) and "config.json" in str(e.value)
    assert "\n" not in str(e.value) and len(str(e.value)) < 2000


def test_expected_tensors_mirror_the_model() -> None:
    """hub.expected_tensors (the header check) describes exactly CRNN(config)'s state dict."""
    from crnn_plugin import PRESETS, CRNNConfig
    from crnn_plugin.hub import expected_tensors

    small = (3, 4, 5, 6, 7, 8, 9)
    configs = [
        *PRESETS.values(),
        CRNNConfig(conv_channels=small, hidden_size=5, num_lstm_layers=1, batchnorm="paper"),
        CRNNConfig(
            conv_channels=small, hidden_size=6, num_lstm_layers=3, in_channels=1, mean=(0.5,), std=(0.5,)
        ),
    ]
    for config in configs:
        state = CRNN(config).state_dict()
        got = {k: (tuple(v.shape), v.is_floating_point()) for k, v in state.items()}
        assert got == expected_tensors(config), config


def test_hostile_json_is_a_config_error(tiny_model: CRNN, tmp_path: Path) -> None:
    folder = _hostile(tmp_path, tiny_model)
    cfg_path = folder / "config.json"
    cfg_path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match=r"config\.json: not a model config \(JSON nested too deeply\)"):
        from_pretrained(folder)
    cfg = json.loads(json.dumps(tiny_model.config.to_dict()))
    cfg_path.write_text(json.dumps(cfg).replace('"hidden_size": 16', '"hidden_size": ' + "9" * 5000))
    with pytest.raises(ConfigError, match=r"config\.json: hidden_size: <integer of 5000 digits> is not"):
        from_pretrained(folder)
    cfg_path.write_text(json.dumps(cfg).replace('"conv_channels": [8', '"conv_channels": [' + "9" * 5000))
    with pytest.raises(ConfigError, match=r"config\.json: conv_channels: <integer of 5000 digits>"):
        from_pretrained(folder)
    cfg_path.write_text(json.dumps({**cfg, "vocab": "x" * 2_000_000}))
    with pytest.raises(ConfigError, match=r"config\.json: larger than 1048576 bytes"):
        from_pretrained(folder)
    cfg_path.write_text(json.dumps({**cfg, "mean": [0.5, float("nan"), 0.5]}))
    with pytest.raises(ConfigError, match=r"mean must be a list of finite numbers"):
        from_pretrained(folder)
    cfg_path.write_text(json.dumps({**cfg, "min_width": 10**6, "max_width": 10**7}))
    with pytest.raises(ConfigError, match=r"need min_width <= 1024 and max_width <= 8192"):
        from_pretrained(folder)
    cfg_path.write_text(json.dumps({**cfg, "conv_channels": [[[1] * 10_000]] * 7}))
    with pytest.raises(ConfigError, match=r"conv_channels must be a list of integers >= 1") as e:
        from_pretrained(folder)
    assert len(str(e.value)) < len(str(cfg_path)) + 300  # the value is shown abridged


def test_non_finite_weights_are_refused(tiny_model: CRNN, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_pretrained(tiny_model, tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    save_file(
        {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in state.items()},
        str(tmp_path / "model.safetensors"),
    )
    with pytest.raises(
        WeightsError, match=r"model\.safetensors: non-finite values \(NaN or infinity\) in \["
    ):
        from_pretrained(tmp_path)
    state["classifier.bias"][3] = float("inf")
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightsError, match=r"non-finite values .* in \['classifier\.bias'\]"):
        from_pretrained(tmp_path)


def test_cli_reports_a_hostile_folder_in_one_line(
    tiny_model: CRNN, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crnn_plugin.cli import main

    folder = _hostile(tmp_path, tiny_model, hidden_size=10**9)
    crop = Path(__file__).resolve().parents[1] / "examples" / "crops" / "crop_00.png"
    assert main(["recognize", "--model", str(folder), "--quiet", str(crop)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert "config.json" in err and "hidden_size is 1000000000" in err
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["info", "--model", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nested too deeply" in err


def test_hostile_tensor_names_stay_short(tiny_model: CRNN, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_pretrained(tiny_model, tmp_path)
    state = {k: v.contiguous() for k, v in tiny_model.state_dict().items()}
    state["rnn.weight_ih_l" + "9" * 5000] = torch.zeros(1)  # int() of it would be Python's digit-limit error
    state["x" * 100_000] = torch.zeros(1)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightsError, match="unexpected tensors") as e:
        from_pretrained(tmp_path)
    assert len(str(e.value)) < 1000
    # a lone tensor named for layer 10^9 - 1 does not back num_lstm_layers = 10^9
    del state["x" * 100_000], state["rnn.weight_ih_l" + "9" * 5000]
    state["rnn.weight_ih_l999999999"] = torch.zeros(1)
    save_file(state, str(tmp_path / "model.safetensors"))
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "num_lstm_layers": 10**9}))
    with pytest.raises(WeightsError, match="num_lstm_layers is 1000000000 in the config, the weights hold 2"):
        from_pretrained(tmp_path)
