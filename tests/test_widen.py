"""Warm-starting wider models (crnn_plugin.widen): the narrow model's function is kept at step 0,
the new parts learn, and what cannot be widened is refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="widening copies PyTorch weights (torch extra)")

from crnn_plugin import CRNN, CRNNConfig, Tokenizer  # noqa: E402
from crnn_plugin.ctc import ctc_loss  # noqa: E402
from crnn_plugin.widen import check_widenable, widen_weights  # noqa: E402

WIDER: dict[str, Any] = {"conv_channels": (12, 24, 24, 24, 48, 48, 48), "hidden_size": 24}


def _trained_like(model: CRNN) -> CRNN:
    """``model`` with non-trivial BatchNorm statistics (a fresh one has mean 0, variance 1)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_a_widened_model_computes_the_narrow_ones_function(tiny_config: CRNNConfig, layers: int) -> None:
    torch.manual_seed(0)
    narrow_cfg = dataclasses.replace(tiny_config, num_lstm_layers=layers)
    narrow = _trained_like(CRNN(narrow_cfg)).eval()
    wide = CRNN(dataclasses.replace(narrow_cfg, **WIDER))
    assert widen_weights(narrow, wide) == []
    wide.eval()
    x = torch.randn(3, 3, 32, 150)
    with torch.no_grad():
        torch.testing.assert_close(wide(x), narrow(x), atol=1e-4, rtol=1e-4)


def test_the_new_parts_learn(tiny_config: CRNNConfig) -> None:
    torch.manual_seed(0)
    narrow = CRNN(tiny_config)
    wide = CRNN(dataclasses.replace(tiny_config, **WIDER))
    widen_weights(narrow, wide)
    wide.train()
    tok = Tokenizer(tiny_config.vocab)
    targets, lengths = tok.encode_batch(["ab", "c1", "Zz9", "q"])
    x = torch.randn(4, 3, 32, 64)
    opt = torch.optim.SGD(wide.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        ctc_loss(wide(x), targets, lengths).backward()
        opt.step()
    conv = wide.features[0]
    assert isinstance(conv, torch.nn.Conv2d) and conv.weight.grad is not None
    assert conv.weight.grad[8:].abs().sum() > 0  # the new channels of the first convolution
    hh_grad = wide.rnn.weight_hh_l0.grad
    assert isinstance(hh_grad, torch.Tensor)
    new_units = [g * 24 + j for g in range(4) for j in range(16, 24)]
    assert hh_grad[new_units].abs().sum() > 0  # the new hidden units
    assert wide.classifier.weight[:, 16:24].abs().sum() > 0  # zero at first, trained since


def test_same_shapes_copy_and_a_new_rectifier_and_height_start_fresh(tiny_model: CRNN) -> None:
    same = CRNN(tiny_model.config)
    assert widen_weights(tiny_model, same) == []
    for k, v in tiny_model.state_dict().items():
        assert torch.equal(same.state_dict()[k], v)
    tps = CRNN(dataclasses.replace(tiny_model.config, rectifier="tps", input_height=48))
    fresh = widen_weights(tiny_model, tps)
    assert fresh and all(k.startswith("rectifier.") for k in fresh)


def test_what_cannot_be_widened_is_refused(tiny_config: CRNNConfig) -> None:
    narrower = dataclasses.replace(tiny_config, hidden_size=8)
    with pytest.raises(ValueError, match="narrower"):
        check_widenable(tiny_config, narrower)
    with pytest.raises(ValueError, match="vocab"):
        check_widenable(tiny_config, dataclasses.replace(tiny_config, vocab="abc"))
    with pytest.raises(ValueError, match="no place for source tensors"):
        widen_weights(CRNN(dataclasses.replace(tiny_config, rectifier="tps")), CRNN(tiny_config))
    with pytest.raises(ValueError, match="num_lstm_layers"):
        widen_weights(CRNN(tiny_config), CRNN(dataclasses.replace(tiny_config, num_lstm_layers=3)))


def test_training_configs_override_the_preset_and_start_wider_models() -> None:
    from crnn_plugin.training.train import TrainConfig

    cfg = TrainConfig(
        arch="crnn_small", vocab="english_space", model={"rectifier": "tps", "hidden_size": 192}
    )
    model_cfg = cfg.model_config()
    assert model_cfg.rectifier == "tps" and model_cfg.hidden_size == 192 and model_cfg.vocab.endswith(" ")
    assert TrainConfig().model_config() == TrainConfig(model={}).model_config()
    with pytest.raises(Exception, match="unknown config keys"):
        TrainConfig(model={"colour": 1}).model_config()
    TrainConfig(vocab="english_space", model=WIDER_V2, init_from="crnn-small-en-v2").check()
    with pytest.raises(ValueError, match="not widenable|not transferable"):
        TrainConfig(vocab="english_space", model={"hidden_size": 64}, init_from="crnn-small-en-v2").check()


WIDER_V2 = {"conv_channels": [48, 96, 192, 192, 384, 384, 384], "hidden_size": 192, "input_height": 48}
