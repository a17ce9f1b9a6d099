"""The int8 ONNX Runtime backend: the default on CPU, and all a light (torch-free) install runs.

A model folder's ``model.int8.onnx`` (written by :func:`crnn_plugin.onnx_export.export_onnx`)
runs the convolutions and the BiLSTM in int8 through ONNX Runtime, with VNNI instructions where
the CPU has them. The file records a digest of the weights it was made from;
:class:`OnnxBackend` refuses a file whose digest does not match the weights it stands in for, so a
stale export is never used. The digest is computed from numpy arrays (the folder's safetensors
read with safetensors' numpy API, or a PyTorch model's state dict), so no torch is needed here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .backend import Backend
from .config import CRNNConfig
from .errors import WeightsError
from .model_folder import INT8_NAME, read_weights

__all__ = [
    "INT8_NAME",
    "OnnxBackend",
    "onnxruntime_available",
    "digest_of",
]

#: Metadata key of the weights digest inside an export.
DIGEST_KEY = "crnn_plugin.weights_sha256"
#: Config fields that only bound the resize before the network: they do not change the graph.
_NOT_IN_GRAPH = ("min_width", "max_width")


def __getattr__(name: str) -> Any:
    """Writing exports needs PyTorch: ``export_onnx``, ``calibration_windows`` and
    ``weights_digest`` (of a torch model) live in :mod:`crnn_plugin.onnx_export`."""
    if name in ("export_onnx", "calibration_windows", "weights_digest"):
        from . import onnx_export

        return getattr(onnx_export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def onnxruntime_available() -> bool:
    """True when ``onnxruntime`` is installed (found without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def digest_of(config: CRNNConfig, weights: Mapping[str, np.ndarray], *, legacy: bool = False) -> str:
    """SHA-256 over the config (but the width bounds of the resize) and the weights (names, shapes
    and values; floats as float32, integers as int64, as a PyTorch CRNN holds them).
    ``legacy=True``: the digest of exports made before 2026-11-26, which also covered the width
    bounds (still accepted, so that those exports keep working)."""
    cfg = {k: v for k, v in config.to_dict().items() if legacy or k not in _NOT_IN_GRAPH}
    h = hashlib.sha256(repr(sorted(cfg.items())).encode())
    for name, array in sorted(weights.items()):
        a = np.asarray(array)
        h.update(name.encode())
        h.update(repr(tuple(int(n) for n in a.shape)).encode())
        dtype = np.float32 if np.issubdtype(a.dtype, np.floating) else np.int64
        h.update(np.ascontiguousarray(a, dtype=dtype).tobytes())
    return h.hexdigest()


def _default_threads() -> int:
    """Intra-op threads: ``OMP_NUM_THREADS`` when set (as PyTorch reads it), else 0 (ONNX Runtime
    then uses one thread per physical core)."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


class OnnxBackend(Backend):
    """Runs a model folder's int8 export with ONNX Runtime on the CPU:
    ``(N, 3, 32, W)`` float32 -> ``(N, T, C)`` float32 logits.

    ``digests``: the weight digests the export may carry (:func:`digest_of` of the weights it
    stands in for); any other is a :class:`WeightsError`. ``None`` skips the check.
    """

    name = "onnx-int8"
    precision = "int8 conv + LSTM"

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: CRNNConfig,
        *,
        digests: Collection[str] | None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.config = config
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _default_threads()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own untyped errors for bad files
            raise WeightsError(f"{self.path}: not a loadable ONNX model ({e})") from e
        meta = self.session.get_modelmeta().custom_metadata_map
        if digests is not None and meta.get(DIGEST_KEY) not in digests:
            raise WeightsError(
                f"{self.path} was not exported from these weights (digest mismatch); "
                "re-export it with scripts/export_onnx.py"
            )

    @classmethod
    def from_folder(cls, folder: Path, config: CRNNConfig, *, threads: int | None = None) -> OnnxBackend:
        """``folder/model.int8.onnx``, checked against the digest of ``folder/model.safetensors``
        (read with numpy; ``config`` from :func:`~crnn_plugin.model_folder.load_config`)."""
        weights = read_weights(folder)
        digests = {digest_of(config, weights), digest_of(config, weights, legacy=True)}
        return cls(folder / INT8_NAME, config, digests=digests, threads=threads)

    @classmethod
    def for_arrays(
        cls, path: str | os.PathLike[str], config: CRNNConfig, weights: Mapping[str, np.ndarray]
    ) -> OnnxBackend:
        """An export checked against weights given as arrays (a PyTorch model's state dict)."""
        digests = {digest_of(config, weights), digest_of(config, weights, legacy=True)}
        return cls(path, config, digests=digests)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return np.asarray(self.session.run(["logits"], {"images": x})[0])
