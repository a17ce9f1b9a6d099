"""ONNX export and the int8 ONNX Runtime backend: same outputs as PyTorch, chosen only when safe.

Writing exports needs torch and onnx; the light install's side (reading them) is in test_light.py.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="exports are written from the PyTorch model (torch extra)")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from _helpers import render_word  # noqa: E402

from crnn_plugin import CRNN, Recognizer, WeightsError, save_pretrained  # noqa: E402
from crnn_plugin.model_folder import load_config, read_weights, resolve_model_dir  # noqa: E402
from crnn_plugin.onnx_backend import INT8_NAME, OnnxBackend, digest_of  # noqa: E402
from crnn_plugin.onnx_export import calibration_windows, export_onnx, state_arrays, weights_digest  # noqa: E402
from crnn_plugin.preprocessing import pad_batch  # noqa: E402


def runner_for(path: Path, model: CRNN) -> OnnxBackend:
    return OnnxBackend.for_arrays(path, model.config, state_arrays(model))


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "crops"


def test_fp32_export_matches_torch_at_any_width(tiny_model: CRNN, tmp_path: Path) -> None:
    path = export_onnx(tiny_model, tmp_path / "m.onnx")
    runner = runner_for(path, tiny_model)
    for n, width in ((1, 40), (3, 128), (2, 333)):
        x = torch.randn(n, 3, 32, width)
        with torch.no_grad():
            expected = tiny_model(x).numpy()
        got = runner(x.numpy())
        assert isinstance(got, np.ndarray) and got.dtype == np.float32
        assert got.shape == expected.shape == (n, width // 4 + 1, tiny_model.config.num_classes)
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_digest_tracks_weights(tiny_model: CRNN, tmp_path: Path) -> None:
    path = export_onnx(tiny_model, tmp_path / "m.onnx")
    other = CRNN(tiny_model.config).eval()
    assert weights_digest(other) != weights_digest(tiny_model)
    with pytest.raises(WeightsError, match="digest mismatch"):
        runner_for(path, other)
    # the resize bounds do not change the graph: an export stays valid when they change
    wider = CRNN(dataclasses.replace(tiny_model.config, max_width=3200)).eval()
    wider.load_state_dict(tiny_model.state_dict())
    assert weights_digest(wider) == weights_digest(tiny_model)
    runner_for(path, wider)
    shifted = dataclasses.replace(tiny_model.config, mean=(0.4, 0.4, 0.4))  # changes what the network sees
    same_weights = CRNN(shifted).eval()
    same_weights.load_state_dict(tiny_model.state_dict())
    assert weights_digest(same_weights) != weights_digest(tiny_model)
    # exports made before the width bounds left the digest still load
    import onnx

    proto = onnx.load(str(path))
    for entry in proto.metadata_props:
        if entry.key == "crnn_plugin.weights_sha256":
            entry.value = weights_digest(tiny_model, legacy=True)
    onnx.save(proto, str(path))
    runner_for(path, tiny_model)
    with pytest.raises(WeightsError, match="digest mismatch"):
        runner_for(path, wider)  # the legacy digest covers the width bounds


def test_digest_of_the_folder_read_with_numpy_is_the_models(tiny_model: CRNN, tmp_path: Path) -> None:
    """The light install hashes the safetensors read with numpy: the same digest as the PyTorch
    model's state dict, for the shipped model and a saved one (legacy digest too)."""
    for folder in (resolve_model_dir(), save_pretrained(tiny_model, tmp_path / "m")):
        model = Recognizer.from_pretrained(folder, device="cpu", backend="torch").model
        config, arrays = load_config(folder), read_weights(folder)
        for legacy in (False, True):
            assert digest_of(config, arrays, legacy=legacy) == weights_digest(model, legacy=legacy)


@pytest.fixture(scope="module")
def int8_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model folder copied, with an int8 export calibrated on rendered words."""
    folder = tmp_path_factory.mktemp("model") / "crnn"
    shutil.copytree(resolve_model_dir(), folder)
    rec = Recognizer.from_pretrained(folder, device="cpu", backend="torch")
    words = ["street", "OPEN", "2024", "Coffee", "exit", "hotel", "SALE", "parking"]
    arrays = [rec.prepare(render_word(w)) for w in words]
    calib = [pad_batch(arrays[i : i + 4], rec.config.mean, rec.config.std) for i in range(0, len(words), 4)]
    export_onnx(rec.model, folder / INT8_NAME, calibration=calib)
    return folder


def test_int8_backend_reads_like_torch(int8_folder: Path) -> None:
    crops = sorted(EXAMPLES.glob("*.png"))
    fast = Recognizer.from_pretrained(int8_folder, device="cpu")
    ref = Recognizer.from_pretrained(int8_folder, device="cpu", amp=False)
    assert fast.backend == "onnx-int8" and ref.backend == "torch"
    assert (fast.width_multiple, ref.width_multiple) == (16, 16)  # one padding rule, batch-invariant
    loose = Recognizer.from_pretrained(int8_folder, device="cpu", batch_invariant=False)
    assert loose.width_multiple == 1  # opt-out: ONNX Runtime pads each batch to its widest crop only
    a, b = fast(crops), ref(crops)
    assert [p.text for p in a] == [p.text for p in b]
    assert all(abs(p.confidence - q.confidence) < 0.1 for p, q in zip(a, b))


@pytest.mark.parametrize(("backend", "tol"), [("onnx", 6e-4), ("torch", 1e-5)])
def test_a_crop_reads_the_same_alone_and_in_any_batch(int8_folder: Path, backend: str, tol: float) -> None:
    """Batch-mates of other widths do not change a crop's reading: each crop is padded by its own
    width only. What remains: float noise (PyTorch fp32) and, for int8, the LSTM's dynamic
    quantization, whose scale comes from the whole batch (about 1e-4 here). With the opt-out the
    padding the BiLSTM reads changes confidences by about 2e-3."""
    crops = sorted(EXAMPLES.glob("*.png"))
    wide = render_word("a much wider neighbour crop")
    for invariant in (True, False):
        rec = Recognizer.from_pretrained(
            int8_folder, device="cpu", backend=backend, amp=backend == "onnx", batch_invariant=invariant
        )
        alone = [rec([c])[0] for c in crops]
        mixed = rec([wide, *crops, wide])[1:-1]
        worst = max(abs(p.confidence - q.confidence) for p, q in zip(alone, mixed))
        if invariant:
            assert worst < tol and [p.text for p in alone] == [p.text for p in mixed]
        else:
            assert worst > 2 * tol


def test_backend_choice(int8_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert Recognizer.from_pretrained(int8_folder, device="cpu", backend="torch").backend == "torch"
    assert Recognizer.from_pretrained(int8_folder, device="cpu", backend="onnx").backend == "onnx-int8"
    # no export in the folder: auto uses PyTorch, onnx is an error naming the file
    plain = tmp_path / "plain"
    shutil.copytree(int8_folder, plain)
    (plain / INT8_NAME).unlink()
    assert Recognizer.from_pretrained(plain, device="cpu").backend == "torch"
    with pytest.raises(WeightsError, match=INT8_NAME):
        Recognizer.from_pretrained(plain, device="cpu", backend="onnx")
    # weights re-saved after the export (a fine-tune): the stale export is refused
    stale = tmp_path / "stale"
    shutil.copytree(int8_folder, stale)
    model = Recognizer.from_pretrained(stale, backend="torch").model
    with torch.no_grad():
        model.classifier.bias.add_(0.5)
    save_pretrained(model, stale)
    with caplog.at_level(logging.WARNING):
        assert Recognizer.from_pretrained(stale, device="cpu").backend == "torch"
    assert "digest mismatch" in caplog.text
    with pytest.raises(WeightsError, match="digest mismatch"):
        Recognizer.from_pretrained(stale, device="cpu", backend="onnx")
    # a corrupt export: auto falls back, onnx names the file
    (stale / INT8_NAME).write_bytes(b"not an onnx file")
    assert Recognizer.from_pretrained(stale, device="cpu").backend == "torch"
    with pytest.raises(WeightsError, match="not a loadable ONNX model"):
        Recognizer.from_pretrained(stale, device="cpu", backend="onnx")


def test_calibration_windows_share_one_shape() -> None:
    batches = [torch.ones(5, 3, 32, 40), np.ones((4, 3, 32, 300), np.float32)]  # tensors or arrays
    windows = calibration_windows(batches, width=128, batch_size=4)
    assert [w.shape for w in windows] == [(4, 3, 32, 128)] * 2  # 9 crops: two full batches, one left out
    assert windows[0][0, :, :, :40].min() == 1 and windows[0][0, :, :, 40:].max() == 0  # zero padding
    assert windows[1][-1].min() == 1  # a wide crop is cut, not squeezed
    assert [w.shape[0] for w in calibration_windows([torch.ones(3, 3, 32, 64)], batch_size=32)] == [3]


@pytest.mark.parametrize("which", ["fresh export", "shipped"])
def test_int8_graph_fuses_conv_relu_pool_without_requantizing(
    which: str, int8_folder: Path, tmp_path: Path
) -> None:
    import onnx
    import onnxruntime as ort

    folder = int8_folder if which == "fresh export" else resolve_model_dir()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # portable, no NCHWc
    opts.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(folder / INT8_NAME), opts, providers=["CPUExecutionProvider"])
    graph = onnx.load(opts.optimized_model_filepath).graph
    producer = {out: node.op_type for node in graph.node for out in node.output}
    ops = [node.op_type for node in graph.node]
    assert ops.count("QLinearConv") == 7  # every convolution runs in int8
    requantized = [
        n.name
        for n in graph.node
        if n.op_type == "QuantizeLinear" and producer.get(n.input[0]) == "DequantizeLinear"
    ]
    assert requantized == []  # conv -> ReLU -> pool stays in uint8 (a DQ->Q pair here cost 13 % of the time)


@pytest.mark.parametrize("name", ["crnn-small-en", "crnn-small-en-v2"])
def test_shipped_exports_still_carry_their_models_digest(name: str) -> None:
    """Config keys added later (rectifier) are left out of the digest at their defaults, so the
    shipped int8 exports still match the weights they were made from."""
    import onnx

    folder = resolve_model_dir(name)
    meta = {p.key: p.value for p in onnx.load(str(folder / INT8_NAME)).metadata_props}
    model = Recognizer.from_pretrained(folder, device="cpu", backend="torch").model
    assert meta["crnn_plugin.weights_sha256"] in (weights_digest(model), weights_digest(model, legacy=True))


def test_fp32_export_at_height_48_matches_torch(tiny_model: CRNN, tmp_path: Path) -> None:
    torch.manual_seed(0)
    tall = CRNN(dataclasses.replace(tiny_model.config, input_height=48)).eval()
    runner = runner_for(export_onnx(tall, tmp_path / "h48.onnx"), tall)
    for width in (40, 128, 600):
        x = torch.randn(2, 3, 48, width)
        with torch.no_grad():
            expected = tall(x).numpy()
        np.testing.assert_allclose(runner(x.numpy()), expected, atol=1e-4, rtol=1e-4)
