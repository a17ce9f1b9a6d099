"""The Recognizer's backend interface, and which backend runs a model.

A backend turns a normalised batch ``(N, C, 32, W)`` (float32) into per-frame logits
``(N, num_frames(W), len(vocab) + 1)`` (float32, blank last); the Recognizer does the rest
(pre-processing before, CTC decoding after, both in numpy). Two backends:

- :class:`~crnn_plugin.onnx_backend.OnnxBackend`: a model folder's int8 export
  (``model.int8.onnx``) through ONNX Runtime on the CPU. Needs only numpy: the backend of a light
  install (``pip install crnn-plugin``) and the CPU default everywhere.
- :class:`~crnn_plugin.torch_backend.TorchBackend`: the PyTorch module, on CPU or CUDA, for
  folders without an export, ``backend="torch"``, ``amp=False`` and GPUs
  (``pip install 'crnn-plugin[torch]'``). torch is imported only when this one is chosen.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import CRNNConfig
from .errors import CRNNError, DeviceError, WeightsError

if TYPE_CHECKING:
    from .model import CRNN

__all__ = [
    "Backend",
    "BACKENDS",
    "TORCH_EXTRA",
    "num_frames",
    "torch_installed",
    "load_backend",
    "backend_for_model",
    "available_backends",
]

logger = logging.getLogger(__name__)

#: Values of ``backend=`` (``Recognizer``, ``--backend``).
BACKENDS = ("auto", "torch", "onnx")
#: How to install PyTorch for crnn_plugin (said by every error that needs it).
TORCH_EXTRA = "pip install 'crnn-plugin[torch]'"


def num_frames(width: int) -> int:
    """Frames ``T`` the network emits for an input ``width`` pixels wide."""
    w = width // 2 // 2  # two 2x2 max-pools
    w = w + 1 + 1  # two (2, 1)-stride pools with width padding 1
    return w - 1  # final 2x2 convolution without padding


class Backend(ABC):
    """Runs the network: ``backend(batch)`` with a ``(N, C, 32, W)`` float32 array returns the
    ``(N, num_frames(W), C)`` float32 logits as a numpy array."""

    #: short name, as ``Recognizer.backend`` and ``crnn-plugin info`` report it
    name: str = ""
    #: arithmetic, in words (``"int8 conv + LSTM"``, ``"torch.bfloat16"``...)
    precision: str = ""
    #: the model's architecture, vocabulary and normalisation
    config: CRNNConfig
    #: ``"cpu"`` or ``"cuda"``: sets the Recognizer's default batch size
    device_type: str = "cpu"
    #: where it runs (a ``torch.device`` for PyTorch)
    device: Any = "cpu"

    @abstractmethod
    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


def torch_installed() -> bool:
    """True when PyTorch can be imported (found without importing it)."""
    return importlib.util.find_spec("torch") is not None


def _cuda_possible() -> bool:
    """Whether CUDA may be usable, answered without importing torch where that is safe: never
    without torch or on macOS; on Linux only with the NVIDIA kernel driver loaded."""
    if not torch_installed() or sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    return True


def _device_kind(device: object) -> str:
    """``"cpu"``, ``"cuda"`` or another device type, for ``"auto"``, a name or a ``torch.device``.
    Imports torch only to ask whether CUDA is available, and only where it may be."""
    if device == "auto":
        if _cuda_possible():
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        return "cpu"
    return str(getattr(device, "type", device)).split(":")[0]


def _torch_missing(why: str, device: object) -> CRNNError:
    """The error for a model that needs PyTorch where it is not installed."""
    if _device_kind(device) != "cpu":
        return DeviceError(f"device {str(device)!r} needs PyTorch, which is not installed: {TORCH_EXTRA}")
    return WeightsError(f"{why}; PyTorch is not installed: {TORCH_EXTRA}")


def _try_onnx(
    backend: str, kind: str, device: object, path: Path | None, make: Callable[[], Backend]
) -> Backend | None:
    """The ONNX backend when it applies (see ``Recognizer``); None to fall back to PyTorch, or an
    error when ``backend="onnx"`` was asked for and cannot be had."""
    if kind != "cpu":
        problem = f"the ONNX backend runs on the CPU, not on {device}"
    elif path is None or not path.is_file():
        problem = f"no int8 ONNX model at {path}" if path else "no onnx_path given"
    elif importlib.util.find_spec("onnxruntime") is None:
        problem = "onnxruntime is not installed (pip install onnxruntime)"
    else:
        try:
            return make()
        except WeightsError as e:
            if backend == "onnx":
                raise
            if not torch_installed():
                raise WeightsError(
                    f"{e}; PyTorch, which would run the weights themselves, is not installed: {TORCH_EXTRA}"
                ) from e
            logger.warning("%s; using PyTorch instead", e)
            return None
    if backend == "onnx":
        raise WeightsError(f"backend='onnx': {problem}")
    return None


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError("backend must be 'auto', 'torch' or 'onnx'")


def load_backend(
    folder: Path, config: CRNNConfig, *, device: object = "auto", amp: bool = True, backend: str = "auto"
) -> Backend:
    """The backend that runs a model folder (``config`` from ``model_folder.load_config``).

    On CPU, ``backend="auto"`` with ``amp`` runs the folder's int8 export when there is one made
    from these weights (checked by digest), else PyTorch (bf16 on CPUs with native bf16, else
    fp32). ``backend="torch"``, ``amp=False`` and CUDA run PyTorch; ``backend="onnx"`` is the
    export or an error. Without torch installed, anything that needs PyTorch is a
    :class:`~crnn_plugin.WeightsError` (or :class:`~crnn_plugin.DeviceError`) saying how to
    install it, or to export the model.
    """
    from .onnx_backend import INT8_NAME, OnnxBackend

    _check_backend(backend)
    kind = _device_kind(device)
    path = folder / INT8_NAME
    if backend == "onnx" or (backend == "auto" and amp and kind == "cpu"):
        found = _try_onnx(backend, kind, device, path, lambda: OnnxBackend.from_folder(folder, config))
        if found is not None:
            return found
    if not torch_installed():
        if backend == "torch":
            why = "backend='torch' runs the model in PyTorch"
        elif not amp:
            why = "amp=False (--fp32) runs the model in PyTorch float32"
        elif not path.is_file():
            why = (
                f"{folder} has no {INT8_NAME} (the int8 export that runs without PyTorch; make one with "
                "scripts/export_onnx.py where torch is installed), so its weights need PyTorch"
            )
        else:
            why = f"{path} cannot run here (onnxruntime is not installed: pip install onnxruntime)"
        raise _torch_missing(why, device)
    from .hub import load_folder
    from .torch_backend import TorchBackend

    return TorchBackend(load_folder(folder), device="cpu" if kind == "cpu" else device, amp=amp)  # type: ignore[arg-type]


def backend_for_model(
    model: CRNN,
    *,
    device: object = "auto",
    amp: bool = True,
    backend: str = "auto",
    onnx_path: str | os.PathLike[str] | None = None,
) -> Backend:
    """The backend for a PyTorch model (``Recognizer(model)``): as :func:`load_backend`, with the
    int8 export at ``onnx_path`` (checked against the model's own weights)."""
    from .onnx_backend import OnnxBackend
    from .onnx_export import state_arrays
    from .torch_backend import TorchBackend, resolve_device

    _check_backend(backend)
    dev = resolve_device(device)  # type: ignore[arg-type]
    if backend == "onnx" or (backend == "auto" and amp and dev.type == "cpu"):
        path = Path(onnx_path) if onnx_path is not None else None

        def make() -> Backend:
            assert path is not None
            return OnnxBackend.for_arrays(path, model.config, state_arrays(model))

        found = _try_onnx(backend, dev.type, dev, path, make)
        if found is not None:
            return found
    return TorchBackend(model, device=dev, amp=amp)


def available_backends() -> dict[str, str]:
    """What this install can run, for ``crnn-plugin info``: the int8 ONNX backend (onnxruntime),
    PyTorch, and CUDA (asks torch, so imports it when installed)."""

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    out = {}
    if importlib.util.find_spec("onnxruntime") is not None:
        out["onnx-int8"] = f"available (onnxruntime {version('onnxruntime')}, CPU)"
    else:
        out["onnx-int8"] = "not installed: pip install onnxruntime"
    if not torch_installed():
        out["torch"] = f"not installed: {TORCH_EXTRA}"
        out["cuda"] = f"needs PyTorch: {TORCH_EXTRA}"
        return out
    import torch

    out["torch"] = f"available (torch {torch.__version__}, CPU)"
    if torch.cuda.is_available():
        out["cuda"] = f"available ({torch.cuda.device_count()} device(s), torch CUDA {torch.version.cuda})"
    else:
        out["cuda"] = "not available"
    return out
