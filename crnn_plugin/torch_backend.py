"""The PyTorch backend: the CRNN module on CPU or CUDA (fp16/bf16 autocast, channels-last).

Imported only when a PyTorch backend is chosen (``backend="torch"``, ``amp=False``, CUDA, or a
model folder without an int8 export), so a light install never needs torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .backend import Backend
from .errors import DeviceError
from .model import CRNN

__all__ = ["TorchBackend", "resolve_device", "cuda_amp_dtype", "cpu_supports_bf16"]


def cuda_amp_dtype(device: torch.device | str = "cuda") -> torch.dtype:
    """bf16 on GPUs that compute in it natively (compute capability 8.0+: A100, H100...), else fp16.

    ``torch.cuda.is_bf16_supported()`` also says yes for emulated bf16 on older GPUs (V100, T4),
    where it is slow, and it asks about the current device rather than ``device``.
    """
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def cpu_supports_bf16() -> bool:
    """True when oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; anything else goes to ``torch.device``."""
    if isinstance(device, torch.device):
        device = str(device)  # checked like a name
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise DeviceError(f"device {device!r}: not a device torch knows ({e})") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {device!r} requested but CUDA is not available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":  # mps, xpu, meta...: can it hold a tensor here?
        try:
            torch.zeros(1, device=dev).cpu()
        except Exception as e:  # noqa: BLE001 - each backend fails with its own type
            why = (str(e).strip().splitlines() or [""])[0][:160]  # backends print whole dispatch tables
            raise DeviceError(f"device {device!r} is not usable here ({type(e).__name__}: {why})") from e
    return dev


class TorchBackend(Backend):
    """The CRNN module: ``(N, 3, 32, W)`` batch -> ``(N, T, C)`` float32 logits.

    Mixed precision: fp16/bf16 autocast on CUDA; bf16 on CPUs with native bf16 (about 2x the fp32
    speed there, accuracy checked by benchmarks/). ``amp=False`` forces fp32. Batches are copied
    to the GPU from page-locked memory.
    """

    name = "torch"

    def __init__(self, model: CRNN, *, device: str | torch.device = "auto", amp: bool = True) -> None:
        self.device = resolve_device(device)
        self.device_type = self.device.type
        self.model = model.to(self.device).eval()  # in place, as nn.Module.to does
        self.config = model.config
        self.amp_dtype: torch.dtype | None = None
        if amp and self.device.type == "cuda":
            self.amp_dtype = cuda_amp_dtype(self.device)
        elif amp and self.device.type == "cpu" and cpu_supports_bf16():
            self.amp_dtype = torch.bfloat16
        if self.amp_dtype is not None:
            self.model.to(memory_format=torch.channels_last)
        self.precision = str(self.amp_dtype or torch.float32)

    def __call__(self, batch: Any) -> np.ndarray:
        return self.forward(batch).cpu().numpy()

    @torch.inference_mode()
    def forward(self, batch: Any) -> torch.Tensor:
        """Logits as a float32 tensor on the model's device, for a numpy or torch batch."""
        x = torch.from_numpy(np.ascontiguousarray(batch)) if isinstance(batch, np.ndarray) else batch
        if self.device.type == "cuda" and x.device.type == "cpu" and not x.is_pinned():
            x = x.pin_memory()  # page-locked host memory: asynchronous copy to the GPU
        x = x.to(self.device, non_blocking=True)
        if self.amp_dtype is not None:
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=self.amp_dtype):
                return self.model(x).float()
        return self.model(x).float()
