from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from crnn_plugin import CRNN, PRESETS, ConfigError, CRNNConfig, Tokenizer, num_frames
from crnn_plugin.ctc import ctc_loss

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


@pytest.mark.parametrize("width", [8, 33, 100, 128, 257])
def test_output_shape(tiny_model: CRNN, width: int) -> None:
    out = tiny_model(torch.randn(2, 3, 32, width))
    assert out.shape == (2, num_frames(width), len(tiny_model.vocab) + 1)


def test_frames_grow_with_width(tiny_model: CRNN) -> None:
    frames = [tiny_model(torch.randn(1, 3, 32, w)).shape[1] for w in (16, 64, 128, 512)]
    assert frames == sorted(frames) and len(set(frames)) == 4
    assert num_frames(100) == 26  # the paper's 100-pixel-wide input gives 26 frames


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build(name: str) -> None:
    model = CRNN(PRESETS[name]).eval()
    assert model(torch.zeros(1, 3, 32, 64)).shape[-1] == len(PRESETS[name].vocab) + 1
    # blank is the last class, docTR's convention
    assert Tokenizer(PRESETS[name].vocab).blank == PRESETS[name].num_classes - 1


def test_paper_batchnorm_only_after_conv5_and_conv6() -> None:
    model = CRNN(PRESETS["crnn_paper"])
    bns = [m for m in model.features if isinstance(m, torch.nn.BatchNorm2d)]
    assert [b.num_features for b in bns] == [512, 512]
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 6 + [(2, 2)]


def test_map_to_sequence_is_column_order(tiny_model: CRNN) -> None:
    # frame t is column t: a change in the right-most columns leaves the left frames untouched
    x = torch.randn(1, 3, 32, 128)
    y = x.clone()
    y[..., 120:] = 0
    fx, fy = tiny_model.sequence_features(x), tiny_model.sequence_features(y)
    diff = (fx - fy).abs().sum(-1)[0]
    assert diff[:15].max() == 0 and diff[-1] > 0  # left frames cannot see the right columns


def test_bad_input_shape(tiny_model: CRNN) -> None:
    with pytest.raises(ValueError, match="expected input of shape"):
        tiny_model(torch.randn(1, 3, 48, 100))
    with pytest.raises(ValueError, match="min_width"):
        tiny_model(torch.randn(1, 3, 32, 4))


def test_gradients_reach_first_conv_and_loss_decreases(tiny_config: CRNNConfig) -> None:
    torch.manual_seed(0)
    model = CRNN(tiny_config).train()
    tok = Tokenizer(tiny_config.vocab)
    x = torch.randn(4, 3, 32, 64)
    targets, lengths = tok.encode_batch(["ab", "c1", "Zz9", "q"])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(30):
        loss = ctc_loss(model(x), targets, lengths)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            conv = model.features[0]
            assert isinstance(conv, torch.nn.Conv2d)
            first = conv.weight.grad
            assert first is not None and first.abs().sum() > 0
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="conv_channels"):
        CRNNConfig(conv_channels=(1, 2, 3))
    with pytest.raises(ConfigError, match="input_height must be 32 or 48"):
        CRNNConfig(input_height=40)
    with pytest.raises(ConfigError, match="rectifier"):
        CRNNConfig(rectifier="stn")
    with pytest.raises(ConfigError, match="unknown config keys"):
        CRNNConfig.from_dict({"arch": "x", "colour": 1})
    with pytest.raises(ConfigError, match="duplicates"):
        CRNNConfig(vocab="aab")


def test_config_accepts_lists_and_numpy_integers() -> None:
    """Python callers pass lists and numpy integers where config.json gives lists and ints."""
    base = PRESETS["crnn_small"]
    cfg = dataclasses.replace(base, mean=[0.5, 0.5, 0.5], hidden_size=np.int64(64))  # type: ignore[arg-type]
    assert cfg.mean == (0.5, 0.5, 0.5) and CRNN(cfg).config.hidden_size == 64
    floats = dataclasses.replace(base, dropout=np.float32(0.25), std=(np.float64(0.5),) * 3)  # type: ignore[arg-type]
    assert type(floats.dropout) is float and CRNNConfig.from_dict(floats.to_dict()) == floats  # JSON-ready


@pytest.mark.parametrize("width", [8, 33, 100, 257])
def test_height_48_gives_the_same_frames_and_tensors(tiny_config: CRNNConfig, width: int) -> None:
    """At height 48 the last height pooling takes 3 rows: same weights, same frames per width."""
    tall = CRNN(dataclasses.replace(tiny_config, input_height=48)).eval()
    assert tall(torch.randn(2, 3, 48, width)).shape == (2, num_frames(width), tiny_config.num_classes)
    shapes = {k: v.shape for k, v in CRNN(tiny_config).state_dict().items()}
    assert {k: v.shape for k, v in tall.state_dict().items()} == shapes
    with pytest.raises(ValueError, match=r"\(N, 3, 48, W\)"):
        tall(torch.randn(1, 3, 32, 100))


def test_new_keys_at_their_defaults_are_left_out_of_config_json(tmp_path: Path) -> None:
    """Old config.json files (no rectifier key) load, and saving writes them back byte for byte."""
    base = PRESETS["crnn_small"]
    assert "rectifier" not in base.to_dict() and base.rectifier == "none"
    assert dataclasses.replace(base, rectifier="tps").to_dict()["rectifier"] == "tps"
    for key in ("rectifier", "input_height"):
        assert CRNNConfig.from_dict({**base.to_dict(), key: getattr(base, key)}) == base
    for name in ("crnn-small-en", "crnn-small-en-v2"):
        path = WEIGHTS / name / "config.json"
        config = CRNNConfig.load(path)
        config.save(tmp_path / "config.json")
        assert (tmp_path / "config.json").read_bytes() == path.read_bytes()


#: Logits of the shipped folders for ``torch.rand(2, 3, 32, 100)`` (generator seed 0, scaled to
#: [-1, 1)), computed with the model code before input heights and rectifiers existed (v2: its
#: current weights, the stage-3 + stage-4 average, computed after; stage 1's matched the old code
#: the same way).
GOLDEN = {
    "crnn-small-en": ([0.1189, 1.1914, 1.2063], [-3.1679, -3.9762, 10.9067], 12622.29),
    "crnn-small-en-v2": ([-0.8737, 0.0778, 0.2697], [-5.5417, 0.3488, 8.5887], 13638.05),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_shipped_folders_read_as_before(name: str) -> None:
    """Old model folders (height 32, no rectifier) build the same network and give the same logits."""
    from crnn_plugin.hub import from_pretrained

    model = from_pretrained(str(WEIGHTS / name)).eval()
    assert model.rectifier is None and not any(k.startswith("rectifier") for k in model.state_dict())
    x = torch.rand(2, 3, 32, 100, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        y = model(x)
    first, last, total = GOLDEN[name]
    torch.testing.assert_close(y[0, :3, 0], torch.tensor(first), atol=2e-4, rtol=0)
    torch.testing.assert_close(y[1, -1, -3:], torch.tensor(last), atol=2e-4, rtol=0)
    assert y.abs().sum().item() == pytest.approx(total, rel=1e-5)
