"""Image loading and pre-processing in numpy/PIL: any input and PIL mode to a normalised
``(3, 32, W)`` float32 array.

Crops are resized to height 32 keeping their aspect ratio (the width is clamped to the model's
``[min_width, max_width]``) and batched with crops of similar width, so padding stays small.
:func:`to_tensor` and :func:`pad_batch` on tensors serve training (they import torch when called).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

if TYPE_CHECKING:
    import torch

__all__ = [
    "ImageInput",
    "load_image",
    "to_rgb",
    "resize_height",
    "to_array",
    "to_tensor",
    "pad_batch",
    "width_buckets",
]

#: What the recognizer accepts: a path, encoded bytes, a PIL image, or an RGB ``uint8`` array.
ImageInput = str | os.PathLike | bytes | Image.Image | np.ndarray

_WHITE = (255, 255, 255)


def load_image(item: ImageInput, *, name: str | None = None) -> Image.Image:
    """Read any supported input into an RGB PIL image.

    - paths and ``bytes``: decoded with Pillow, EXIF orientation applied;
    - numpy arrays: ``(H, W)`` grey, ``(H, W, 1)``, ``(H, W, 3)`` **RGB** or ``(H, W, 4)`` RGBA;
      ``uint8``, ``uint16`` (scaled by 1/257), other integers in ``0..255``, ``bool``, or floats
      in ``[0, 1]`` (scaled by 255; arrays with values above 1.5 are taken as ``0..255``);
    - PIL images of any mode (see :func:`to_rgb`).

    Raises :class:`ImageError` naming the input for unreadable, empty or 0-pixel images.
    """
    label = name or describe(item)
    if isinstance(item, Image.Image):
        img = item
    elif isinstance(item, np.ndarray):
        img = _from_array(item, label)
    elif isinstance(item, (bytes, bytearray)):
        img = _decode(io.BytesIO(item), label)
    elif isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if path.is_dir():
            raise ImageError(f"{label}: is a directory, not an image")
        try:
            size = path.stat().st_size
        except OSError as e:
            raise ImageError(f"{label}: cannot read file ({e.strerror or e})") from e
        if size == 0:
            raise ImageError(f"{label}: empty file (0 bytes)")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ImageError(f"{label}: cannot read file ({e.strerror or e})") from e
        img = _decode(io.BytesIO(data), label)
    else:
        raise ImageError(f"{label}: unsupported input type {type(item).__name__}")
    if img.width == 0 or img.height == 0:
        raise ImageError(f"{label}: image has 0 pixels ({img.width}x{img.height})")
    return to_rgb(img)


def describe(item: object) -> str:
    """A short name for an input in error messages: its path, array shape or image size."""
    if isinstance(item, (str, os.PathLike)):
        return str(item)
    if isinstance(item, np.ndarray):
        return f"array{tuple(item.shape)}"
    if isinstance(item, Image.Image):
        return f"PIL image {item.mode} {item.width}x{item.height}"
    return type(item).__name__


def _decode(stream: io.BytesIO, label: str) -> Image.Image:
    try:
        img: Image.Image = Image.open(stream)
        img.seek(0)  # first frame of animations
        img.load()
        img = ImageOps.exif_transpose(img) or img
    except UnidentifiedImageError as e:
        raise ImageError(f"{label}: not a recognised image format") from e
    except Image.DecompressionBombError as e:
        raise ImageError(f"{label}: image too large to decode safely ({e})") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{label}: corrupt or truncated image ({e})") from e
    return img


def _from_array(arr: np.ndarray, label: str) -> Image.Image:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"{label}: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"{label}: image has 0 pixels ({arr.shape[1]}x{arr.shape[0]})")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype == np.uint16:
        arr = (arr.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageError(f"{label}: array contains NaN or infinity")
        # [0, 1] (up to 1.5: resampling overshoots), else 0..255 as from OpenCV arithmetic
        scale = 255.0 if arr.max(initial=0.0) <= 1.5 else 1.0
        arr = (np.clip(arr * scale, 0.0, 255.0)).round().astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.uint8:
        lo, hi = int(arr.min(initial=0)), int(arr.max(initial=0))
        if lo < 0 or hi > 255:
            raise ImageError(f"{label}: {arr.dtype} array with values {lo}..{hi}, expected 0..255")
        arr = arr.astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ImageError(f"{label}: unsupported array dtype {arr.dtype}")
    return Image.fromarray(np.ascontiguousarray(arr))


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB.

    Transparency (RGBA, LA, PA, P with a transparent colour) is composited on white; 16- and
    32-bit integer modes are scaled from their full range; float (``F``) images in ``[0, 1]`` are
    scaled to 255, otherwise clipped to ``[0, 255]``; CMYK, YCbCr, LAB, HSV and 1-bit convert.
    """
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            arr = arr / 257.0
        elif mode == "I":
            arr = arr / 257.0 if arr.max(initial=0) > 255 else arr
        elif arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8)).convert("RGB")
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = (img.convert("LA") if mode == "La" else img).convert("RGBA")  # Pillow has no La -> RGBA
        bg = Image.new("RGB", rgba.size, _WHITE)
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return img.convert("RGB")


def resize_height(
    img: Image.Image, *, height: int = 32, min_width: int = 8, max_width: int = 1600
) -> Image.Image:
    """Resize to ``height`` keeping the aspect ratio, width clamped to ``[min_width, max_width]``."""
    w, h = img.size
    new_w = int(round(w * height / h))
    new_w = max(min_width, min(max_width, new_w))
    if h > 4 * height and w > 4 * new_w:
        img = img.reduce(max(1, min(h // (2 * height), w // (2 * new_w))))  # fast pre-shrink
    return img.resize((new_w, height), Image.Resampling.BILINEAR)


def to_array(img: Image.Image, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """RGB PIL image to a normalised float32 array ``(3, H, W)``: ``(pixel / 255 - mean) / std``."""
    x = np.asarray(img, dtype=np.uint8).astype(np.float32) / np.float32(255.0)  # (H, W, 3)
    m = np.asarray(mean, dtype=np.float32)
    s = np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(((x - m) / s).transpose(2, 0, 1))


def to_tensor(img: Image.Image, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """:func:`to_array` as a torch tensor (training; imports torch)."""
    import torch

    return torch.from_numpy(to_array(img, mean, std))


def pad_batch(
    crops: Sequence[Any],
    mean: Sequence[float],
    std: Sequence[float],
    *,
    multiple: int = 1,
    pin_memory: bool = False,
) -> Any:
    """Stack ``(3, H, W_i)`` crops into ``(N, 3, H, W)``, padding on the right with black.

    ``W`` is the largest width rounded up to ``multiple``: fewer distinct shapes let oneDNN/cuDNN
    reuse their kernels across batches. numpy arrays give a float32 array; torch tensors (training)
    give a tensor, in page-locked memory with ``pin_memory`` (CUDA only).
    """
    tensors = not isinstance(crops[0], np.ndarray)
    arrays = [np.asarray(c.detach().cpu().numpy() if tensors else c) for c in crops]
    width = max(a.shape[-1] for a in arrays)
    width = -(-width // multiple) * multiple
    pad = -np.asarray(mean, dtype=np.float32) / np.asarray(std, dtype=np.float32)
    shape = (len(arrays), arrays[0].shape[0], arrays[0].shape[1], width)
    out = np.empty(shape, dtype=np.float32)
    out[...] = pad.reshape(-1, 1, 1)
    for i, a in enumerate(arrays):
        out[i, :, :, : a.shape[-1]] = a
    if not tensors:
        return out
    import torch

    batch = torch.from_numpy(out)
    return batch.pin_memory() if pin_memory else batch


def width_buckets(widths: Sequence[int], batch_size: int, multiple: int | None = None) -> list[list[int]]:
    """Indices grouped into batches of at most ``batch_size``, narrowest first.

    Without ``multiple``: consecutive crops in width order (each batch is padded to its widest).
    With ``multiple``: a batch only holds crops of one padded width ``ceil(w / multiple) * multiple``,
    so every crop is padded the same way whatever else is recognised with it (batch-invariant).
    """
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    if multiple is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(-(-widths[i] // multiple), []).append(i)
    return [g[k : k + batch_size] for g in groups.values() for k in range(0, len(g), batch_size)]
