"""The TPS rectifier (crnn_plugin.rectifier): identity at initialisation, any width, gradients,
ONNX export matching PyTorch, and model folders that carry one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the rectifier is a PyTorch module (torch extra)")

from crnn_plugin import CRNN, PRESETS, CRNNConfig, Tokenizer, num_frames  # noqa: E402
from crnn_plugin.ctc import ctc_loss  # noqa: E402
from crnn_plugin.rectifier import TPSRectifier, identity_points, tps_kernel  # noqa: E402

WIDTHS = (32, 128, 600)  # a short word, docTR's box, a long line


def _warped(model: CRNN, seed: int = 0) -> CRNN:
    """``model`` with a rectifier that really moves pixels (random last-layer weights)."""
    assert model.rectifier is not None
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = model.rectifier.points.weight
        w.copy_(torch.randn(w.shape, generator=g) * 0.02)
    return model


@pytest.fixture
def tps_config(tiny_config: CRNNConfig) -> CRNNConfig:
    return dataclasses.replace(tiny_config, rectifier="tps")


def test_identity_points_and_the_spline_reproduces_affine_maps() -> None:
    ctrl = identity_points(20)
    assert ctrl.shape == (20, 2) and ctrl[:10, 1].eq(-1).all() and ctrl[10:, 1].eq(1).all()
    assert tps_kernel(ctrl, ctrl).shape == (20, 23)
    with pytest.raises(ValueError, match="even"):
        identity_points(7)
    # control points moved by an affine map: the spline is that map everywhere (no bending)
    rect = TPSRectifier(3).eval()
    a, b = torch.tensor([[0.9, 0.1], [-0.05, 1.1]]), torch.tensor([0.05, -0.1])
    with torch.no_grad():
        rect.points.bias.copy_((rect.ctrl @ a.T + b).reshape(-1))
        grid = rect.grid(torch.zeros(1, 3, 32, 77))
    ys, xs = ((torch.arange(n) * 2 + 1) / n - 1 for n in (32, 77))
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    base = torch.stack([gx, gy], dim=-1)
    torch.testing.assert_close(grid[0], base @ a.T + b, atol=1e-4, rtol=0)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_fresh_rectifier_is_the_identity(width: int) -> None:
    torch.manual_seed(0)
    rect = TPSRectifier(3).eval()
    x = torch.randn(2, 3, 32, width)
    with torch.no_grad():
        y = rect(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, atol=1e-3, rtol=0)


def test_a_model_given_a_fresh_rectifier_reads_as_before(tiny_model: CRNN, tps_config: CRNNConfig) -> None:
    with_tps = CRNN(tps_config).eval()
    missing = with_tps.load_state_dict(tiny_model.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("rectifier.") for k in missing)
    x = torch.randn(3, 3, 32, 200)
    with torch.no_grad():
        torch.testing.assert_close(with_tps(x), tiny_model(x), atol=1e-4, rtol=1e-4)
    assert not [k for k in tiny_model.state_dict() if k.startswith("rectifier")]  # old models have none


@pytest.mark.parametrize("width", [8, 33, 257, 600])
def test_any_width_and_height_48(tps_config: CRNNConfig, width: int) -> None:
    torch.manual_seed(0)
    for height in (32, 48):
        model = _warped(CRNN(dataclasses.replace(tps_config, input_height=height)).eval())
        with torch.no_grad():
            out = model(torch.randn(2, 3, height, width))
        assert out.shape == (2, num_frames(width), tps_config.num_classes)


def test_gradients_reach_the_localisation_network(tps_config: CRNNConfig) -> None:
    torch.manual_seed(0)
    model = CRNN(tps_config).train()
    rect = model.rectifier
    assert rect is not None
    first_layer = rect.loc[0]
    assert isinstance(first_layer, torch.nn.Conv2d)
    tok = Tokenizer(tps_config.vocab)
    x = torch.randn(4, 3, 32, 64)
    targets, lengths = tok.encode_batch(["ab", "c1", "Zz9", "q"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(2):
        opt.zero_grad()
        ctc_loss(model(x), targets, lengths).backward()
        points, first = rect.points.weight.grad, first_layer.weight.grad
        assert points is not None and points.abs().sum() > 0  # from the first step on
        if step == 1:  # the zero last layer passes gradients back once it has moved
            assert first is not None and first.abs().sum() > 0
        opt.step()


def test_onnx_export_matches_pytorch_at_several_widths(tps_config: CRNNConfig, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from crnn_plugin.onnx_export import export_onnx

    torch.manual_seed(0)
    for height in (32, 48):
        model = _warped(CRNN(dataclasses.replace(tps_config, input_height=height)).eval())
        path = export_onnx(model, tmp_path / f"tps{height}.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert any(n.op_type == "GridSample" for n in onnx.load(str(path)).graph.node)
        for width in WIDTHS:
            x = torch.randn(2, 3, height, width)
            with torch.no_grad():
                expected = model(x).numpy()
                assert model.rectifier is not None
                assert (model.rectifier(x) - x).abs().max() > 0.1  # the warp is not the identity
            got = session.run(None, {"images": x.numpy()})[0]
            assert got.shape == expected.shape
            torch.testing.assert_close(
                torch.from_numpy(got), torch.from_numpy(expected), atol=1e-4, rtol=1e-4
            )


def test_a_model_folder_with_a_rectifier_round_trips(tps_config: CRNNConfig, tmp_path: Path) -> None:
    from crnn_plugin import from_pretrained, save_pretrained
    from crnn_plugin.model_folder import expected_tensors

    torch.manual_seed(0)
    model = _warped(CRNN(tps_config).eval())
    got = {k: (tuple(v.shape), v.is_floating_point()) for k, v in model.state_dict().items()}
    assert got == expected_tensors(tps_config)  # the header check knows the rectifier's tensors
    folder = save_pretrained(model, tmp_path / "tps")
    assert '"rectifier": "tps"' in (folder / "config.json").read_text()
    again = from_pretrained(str(folder)).eval()
    x = torch.randn(1, 3, 32, 90)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))
    assert PRESETS["crnn_small"].rectifier == "none"
