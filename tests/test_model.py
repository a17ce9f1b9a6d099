from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from crnn_plugin import CRNN, PRESETS, ConfigError, CRNNConfig, Tokenizer, num_frames
from crnn_plugin.ctc import ctc_loss


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
    with pytest.raises(ConfigError, match="input_height"):
        CRNNConfig(input_height=48)
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
