"""The Recognizer: pre-process -> CRNN -> CTC decoding, on CPU or CUDA, in input order."""

from __future__ import annotations

import contextlib
import logging
import numbers
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image

from .ctc import Decoded, beam_search, best_path
from .errors import DeviceError, ImageError, WeightsError
from .model import CRNN, num_frames
from .preprocessing import (
    ImageInput,
    describe,
    load_image,
    pad_batch,
    resize_height,
    to_tensor,
    width_buckets,
)
from .vocab import Tokenizer

if TYPE_CHECKING:
    from .onnx_backend import OnnxRunner
    from .regions import Boxes, Polygons

__all__ = ["Prediction", "Recognizer", "resolve_device"]

logger = logging.getLogger(__name__)

#: Every crop is padded on the right to a multiple of this many pixels (4 frames) and batched only
#: with crops of the same padded width (``batch_invariant=True``, the default): a crop then reads
#: the same alone or in any batch. A BiLSTM's output depends on the padding after the crop: with
#: padding to each batch's widest crop, 104 of the 3000 IIIT5K test crops read differently than
#: alone (int8). A stream of crops of all widths also runs a few dozen distinct shapes, so
#: oneDNN/cuDNN reuse their per-shape kernel setup.
WIDTH_MULTIPLE = 16
#: ``batch_invariant=False`` on ONNX Runtime: pad each width-sorted batch to its widest crop only
#: (fastest for small mixed-width calls; results then depend on the batch).
ONNX_WIDTH_MULTIPLE = 1
#: ``Recognizer(batch_size=None)`` by device type. On an H200 the autocast path ran 0.63x the eager
#: fp32 speed at batch 64 but 1.53x at 256 and 2.64x at 1024 (``benchmarks/gpu_results.md``).
DEFAULT_BATCH_SIZE = {"cpu": 64, "cuda": 256}
#: A crop at least this many times as tall as wide is also read rotated 90 degrees both ways
#: (``Recognizer(rotate_tall=True)``): vertical text in scene images is mostly rotated text.
TALL_RATIO = 1.5


@dataclass(frozen=True)
class Prediction:
    """Result for one crop.

    ``error`` is ``None`` on success; for an input that could not be read it holds the message,
    ``text`` is ``""`` and ``confidence`` is ``0.0``. Lexicon fields are set when a lexicon was used.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    error: str | None = None
    raw_text: str | None = None  # lexicon-free text when a lexicon was applied
    lexicon_used: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the crop was read and recognised."""
        return self.error is None


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


def _check_positive_int(name: str, value: object) -> None:
    if value is not None and (
        not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1
    ):
        raise ValueError(f"{name} must be an integer >= 1 (or None), got {value!r}")


def _is_single_input(images: object) -> bool:
    """One image (a path, bytes, a PIL image, an ``(H, W)`` or ``(H, W, 1|3|4)`` array) rather than
    a collection of them (a list, tuple, generator, an ``(N, H, W, C)`` array, an ``(N, H, W)``
    array with N and W over 4...)."""
    if isinstance(images, (str, bytes, bytearray, os.PathLike, Image.Image)):
        return True
    shape = getattr(images, "shape", None)  # arrays: one image, or a batch along the first axis
    if shape is not None:
        # (N, H, W) is a batch only when neither end axis can be channels: a channels-first or
        # 2-channel image then fails loudly as one image instead of being read row by row
        return len(shape) <= 2 or (len(shape) == 3 and (shape[-1] <= 4 or shape[0] <= 4))
    return not isinstance(images, Iterable)


class Recognizer:
    """Recognise word crops of any width with a CRNN.

    >>> rec = Recognizer.from_pretrained()           # shipped weights, offline
    >>> rec(["examples/crops/hello.png"])[0].text    # doctest: +SKIP
    'hello'

    Inputs: paths, encoded bytes, PIL images (any mode) or numpy arrays in **RGB** order
    (see :func:`crnn_plugin.preprocessing.load_image`). Crops are resized to height 32 keeping the
    aspect ratio and batched by padded width, so a crop reads the same whatever else is in the
    call (``batch_invariant``); crops 1.5x taller than wide are also read turned 90 degrees
    (``rotate_tall``). Results come back in input order.

    Backends: on CUDA, PyTorch with fp16/bf16 autocast. On CPU, ``backend="auto"`` runs the
    model folder's int8 ONNX export (``model.int8.onnx``, convolutions and LSTM in int8 through
    ONNX Runtime) when there is one made from these weights, else PyTorch in bf16 (CPUs with native
    bf16) or fp32. ``backend="torch"`` never uses ONNX; ``amp=False`` means PyTorch fp32.
    """

    def __init__(
        self,
        model: CRNN,
        *,
        device: str | torch.device = "auto",
        batch_size: int | None = None,
        amp: bool = True,
        beam_width: int | None = None,
        backend: str = "auto",
        onnx_path: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        rotate_tall: bool = True,
        batch_invariant: bool = True,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("workers", workers), ("beam_width", beam_width)):
            _check_positive_int(name, value)
        if backend not in ("auto", "torch", "onnx"):
            raise ValueError("backend must be 'auto', 'torch' or 'onnx'")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()  # in place, as nn.Module.to does
        # Mixed precision: fp16/bf16 autocast on CUDA; bf16 on CPUs with native bf16 (about 2x the
        # fp32 speed here, accuracy checked by benchmarks/). ``amp=False`` forces fp32.
        self.amp_dtype: torch.dtype | None = None
        if amp and self.device.type == "cuda":
            self.amp_dtype = cuda_amp_dtype(self.device)
        elif amp and self.device.type == "cpu" and cpu_supports_bf16():
            self.amp_dtype = torch.bfloat16
        if self.amp_dtype is not None:
            self.model.to(memory_format=torch.channels_last)
        self.config = model.config
        self.tokenizer = Tokenizer(model.config.vocab)
        #: crops per forward pass (default: ``DEFAULT_BATCH_SIZE`` for the device type)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE.get(self.device.type, 64)
        #: threads that decode and resize inputs (PIL and torch release the GIL while they work)
        self.workers = workers or min(8, os.cpu_count() or 1)
        #: read tall crops (``TALL_RATIO``) in three orientations and keep the most probable reading
        self.rotate_tall = rotate_tall
        self.amp = amp
        self.beam_width = beam_width
        self._onnx = self._onnx_runner(backend, onnx_path)
        self.backend = "onnx-int8" if self._onnx is not None else "torch"
        #: batches hold crops of one padded width only, so results do not depend on batch-mates
        self.batch_invariant = batch_invariant
        #: padded batch widths are rounded up to a multiple of this (see ``WIDTH_MULTIPLE``)
        self.width_multiple = WIDTH_MULTIPLE
        if self._onnx is not None and not batch_invariant:
            self.width_multiple = ONNX_WIDTH_MULTIPLE

    def _onnx_runner(self, backend: str, onnx_path: str | os.PathLike[str] | None) -> OnnxRunner | None:
        """The ONNX Runtime runner to use, if any (see the class docstring)."""
        from .onnx_backend import OnnxRunner, onnxruntime_available

        if backend == "torch" or (backend == "auto" and (not self.amp or self.device.type != "cpu")):
            return None
        path = Path(onnx_path) if onnx_path is not None else None
        if self.device.type != "cpu":
            problem = f"the ONNX backend runs on the CPU, not on {self.device}"
        elif path is None or not path.is_file():
            problem = f"no int8 ONNX model at {path}" if path else "no onnx_path given"
        elif not onnxruntime_available():
            problem = "onnxruntime is not installed (pip install onnxruntime)"
        else:
            try:
                return OnnxRunner(path, self.model)
            except WeightsError as e:
                if backend == "onnx":
                    raise
                logger.warning("%s; using PyTorch instead", e)
                return None
        if backend == "onnx":
            raise WeightsError(f"backend='onnx': {problem}")
        return None

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str] | None = None,
        *,
        revision: str | None = None,
        device: str | torch.device = "auto",
        batch_size: int | None = None,
        amp: bool = True,
        backend: str = "auto",
        workers: int | None = None,
        rotate_tall: bool = True,
        batch_invariant: bool = True,
        **kwargs: object,
    ) -> Recognizer:
        """Load weights (folder, shipped name or Hub repo id) and wrap them in a Recognizer."""
        from .hub import load_folder, resolve_model_dir
        from .onnx_backend import INT8_NAME

        folder = resolve_model_dir(name_or_path, revision=revision, **kwargs)  # type: ignore[arg-type]
        model = load_folder(folder)
        return cls(
            model,
            device=device,
            batch_size=batch_size,
            amp=amp,
            backend=backend,
            onnx_path=folder / INT8_NAME,
            workers=workers,
            rotate_tall=rotate_tall,
            batch_invariant=batch_invariant,
        )

    # -- pre-processing -------------------------------------------------------------------------
    def prepare(self, image: ImageInput) -> torch.Tensor:
        """One input to a normalised ``(3, 32, W)`` tensor; raises :class:`ImageError`."""
        img = load_image(image)
        return self._prepare_pil(img)

    def prepare_variants(self, image: ImageInput) -> list[torch.Tensor]:
        """The ``(3, 32, W)`` tensors to read for one input: the crop as given and, for a tall crop
        (height >= ``TALL_RATIO`` x width) when ``rotate_tall``, the crop rotated 90 degrees
        clockwise and counter-clockwise (see :meth:`orient`). Raises :class:`ImageError`."""
        img = load_image(image)
        out = [self._prepare_pil(img)]
        if self.rotate_tall and img.height >= TALL_RATIO * img.width:
            for turn in (Image.Transpose.ROTATE_270, Image.Transpose.ROTATE_90):
                out.append(self._prepare_pil(img.transpose(turn)))
        return out

    def try_prepare(self, image: ImageInput) -> list[torch.Tensor] | ImageError:
        """:meth:`prepare_variants` that returns the error instead of raising it; any decoder crash
        on one input becomes an :class:`ImageError` naming that input."""
        try:
            return self.prepare_variants(image)
        except ImageError as e:
            return e
        except Exception as e:  # noqa: BLE001 - one bad input must not cost the other results
            return ImageError(f"{describe(image)}: cannot read image ({type(e).__name__}: {e})")

    def orient(
        self, variants: Sequence[Sequence[torch.Tensor]]
    ) -> tuple[list[torch.Tensor], list[Decoded | None]]:
        """One tensor per input from :meth:`prepare_variants`: the only one, or the orientation
        whose best-path reading has the highest ``p(text|y)``; a rotation wins only if it reads at
        least two characters (a tall crop may hold one upright character). Also returns the
        chosen reading of every input that had several (None for the others)."""
        out = [v[0] for v in variants]
        reads: list[Decoded | None] = [None] * len(variants)
        multi = [i for i, v in enumerate(variants) if len(v) > 1]
        decoded = self.predict_tensors([t for i in multi for t in variants[i]]) if multi else []
        k = 0
        for i in multi:
            options = decoded[k : k + len(variants[i])]
            k += len(variants[i])
            best = 0
            for j, d in enumerate(options[1:], 1):
                if len(d.text) >= 2 and d.confidence > options[best].confidence:
                    best = j
            out[i], reads[i] = variants[i][best], options[best]
        return out, reads

    def predict_prepared(
        self,
        variants: Sequence[Sequence[torch.Tensor]],
        *,
        lexicon: object = None,
        items: Sequence[object] = (),
        beam_width: int | None = None,
    ) -> list[Prediction]:
        """Predictions for inputs from :meth:`prepare_variants`, lexicon-free or with ``lexicon``
        (one :class:`~crnn_plugin.Lexicon`, a name or file, or one per input; see ``__call__``)."""
        if lexicon is not None:
            from .lexicon import apply_lexicon

            return apply_lexicon(self, self.orient(variants)[0], lexicon, items)  # type: ignore[arg-type]
        return [
            Prediction(d.text, d.confidence, d.char_confidences)
            for d in self.predict_oriented(variants, beam_width=beam_width)
        ]

    def predict_oriented(
        self, variants: Sequence[Sequence[torch.Tensor]], *, beam_width: int | None = None
    ) -> list[Decoded]:
        """:meth:`predict_tensors` for inputs from :meth:`prepare_variants` (see :meth:`orient`)."""
        tensors, reads = self.orient(variants)
        bw = beam_width if beam_width is not None else self.beam_width
        todo = [i for i, r in enumerate(reads) if r is None or (bw is not None and bw > 1)]
        for i, d in zip(todo, self.predict_tensors([tensors[i] for i in todo], beam_width=beam_width)):
            reads[i] = d
        return [r for r in reads if r is not None]

    def prepare_many(self, images: Sequence[ImageInput]) -> list[list[torch.Tensor] | ImageError]:
        """:meth:`try_prepare` for each input, in order, on ``self.workers`` threads."""
        if self.workers == 1 or len(images) < 2:
            return [self.try_prepare(x) for x in images]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(images))) as pool:
            return list(pool.map(self.try_prepare, images))

    def _prepare_pil(self, img: Image.Image) -> torch.Tensor:
        c = self.config
        img = resize_height(img, height=c.input_height, min_width=c.min_width, max_width=c.max_width)
        if c.in_channels == 1:
            img = img.convert("L").convert("RGB")
        x = to_tensor(img, c.mean * (3 // len(c.mean)), c.std * (3 // len(c.std)))
        return x[:1] if c.in_channels == 1 else x

    # -- inference --------------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.amp_dtype is not None:
            return torch.autocast(self.device.type, dtype=self.amp_dtype)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Model output ``(N, T, C)`` in float32 for a padded batch ``(N, 3, 32, W)``."""
        if self._onnx is not None:
            return self._onnx(batch)
        if self.device.type == "cuda" and batch.device.type == "cpu" and not batch.is_pinned():
            batch = batch.pin_memory()  # page-locked host memory: asynchronous copy to the GPU
        batch = batch.to(self.device, non_blocking=True)
        if self.amp_dtype is not None:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            out = self.model(batch)
        return out.float()

    def decode(self, logits: torch.Tensor, beam_width: int | None = None) -> list[Decoded]:
        """CTC-decode ``(N, T, C)`` logits: best path, or prefix beam search when ``beam_width``."""
        bw = beam_width if beam_width is not None else self.beam_width
        if bw and bw > 1:
            return beam_search(logits, self.tokenizer, beam_width=bw)
        return best_path(logits, self.tokenizer)

    def batches(self, tensors: Sequence[torch.Tensor]) -> Iterator[tuple[list[int], torch.Tensor]]:
        """The batches the model runs for pre-processed ``(3, 32, W_i)`` crops: width buckets of at
        most ``batch_size`` (one padded width each when ``batch_invariant``), as the indices of their
        crops and the padded ``(N, 3, 32, W)`` batch (in pinned memory when the model is on CUDA)."""
        widths = [t.shape[-1] for t in tensors]
        for idx in width_buckets(
            widths, self.batch_size, self.width_multiple if self.batch_invariant else None
        ):
            batch = pad_batch(
                [tensors[i] for i in idx],
                self.config.mean,
                self.config.std,
                multiple=self.width_multiple,
                pin_memory=self.device.type == "cuda",
            )
            yield idx, batch

    def predict_tensors(
        self, tensors: Sequence[torch.Tensor], *, beam_width: int | None = None
    ) -> list[Decoded]:
        """Recognise already pre-processed ``(3, 32, W_i)`` tensors, batched by width, in order."""
        results: list[Decoded | None] = [None] * len(tensors)
        for idx, batch in self.batches(tensors):
            decoded = self.decode(self.logits(batch), beam_width)
            for i, d in zip(idx, decoded):
                results[i] = d
        return [r for r in results if r is not None]

    def log_probs_and_decode(self, tensors: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, Decoded]]:
        """Per crop: log-probabilities ``(T_i, C)`` (frames of its own width) and best path."""
        results: list[tuple[torch.Tensor, Decoded] | None] = [None] * len(tensors)
        widths = [t.shape[-1] for t in tensors]
        for idx, batch in self.batches(tensors):
            logits = self.logits(batch)
            decoded = best_path(logits, self.tokenizer)
            lp = logits.log_softmax(-1)
            for j, (i, d) in enumerate(zip(idx, decoded)):
                results[i] = (lp[j, : num_frames(widths[i])], d)
        return [r for r in results if r is not None]

    def __call__(
        self,
        images: ImageInput | Iterable[ImageInput],
        *,
        beam_width: int | None = None,
        errors: str = "return",
        lexicon: object = None,
    ) -> list[Prediction]:
        """Recognise one input or a collection of inputs; returns one :class:`Prediction` each.

        A collection is any iterable (list, tuple, generator...) or an ``(N, H, W[, C])`` array;
        results come in its order. One input is a path, bytes, a PIL image or an ``(H, W[, C])``
        array.

        ``errors="return"`` (default) reports an unreadable input in its own ``Prediction.error``
        and keeps every other result; ``errors="raise"`` raises the first :class:`ImageError`.
        A single input (not in a list) that cannot be read always raises.
        """
        if errors not in ("return", "raise"):
            raise ValueError("errors must be 'return' or 'raise'")
        _check_positive_int("beam_width", beam_width)
        single = _is_single_input(images)
        items: Sequence[ImageInput] = [images] if single else list(images)  # type: ignore[list-item,arg-type]
        if lexicon is not None:  # checked before any work; per-input lists follow the readable inputs
            from .lexicon import lexicons_for

            lexicon = lexicons_for(lexicon, len(items))
        variants: list[list[torch.Tensor]] = []
        ok_idx: list[int] = []
        out: list[Prediction | None] = [None] * len(items)
        for i, x in enumerate(self.prepare_many(items)):
            if isinstance(x, list):
                variants.append(x)
                ok_idx.append(i)
                continue
            if single or errors == "raise":
                raise x
            logger.warning("skipping input %d: %s", i, x)
            out[i] = Prediction(text="", confidence=0.0, error=str(x))
        if isinstance(lexicon, list):
            lexicon = [lexicon[i] for i in ok_idx]
        preds = self.predict_prepared(
            variants, lexicon=lexicon, items=[items[i] for i in ok_idx], beam_width=beam_width
        )
        for i, p in zip(ok_idx, preds):
            out[i] = p
        return [p for p in out if p is not None]

    def recognize(
        self,
        image: ImageInput,
        *,
        boxes: Boxes | None = None,
        polygons: Polygons | None = None,
        box_format: str = "xyxy",
        **kwargs: object,
    ) -> list[tuple[object, str, float]]:
        """Read regions of a full image found by any detector: ``[(box, text, confidence)]``.

        ``boxes`` are axis-aligned, in ``box_format`` ``"xyxy"`` (``[x_min, y_min, x_max, y_max]``,
        default), ``"easyocr"`` (``[x_min, x_max, y_min, y_max]``) or ``"xywh"``; ``polygons`` are
        4-point quadrilaterals ``[[x, y], ...]`` in any order (rectified by a perspective warp).
        Pixel coordinates, origin at the top-left. See :mod:`crnn_plugin.regions`.
        """
        from .regions import recognize_regions

        return recognize_regions(self, image, boxes=boxes, polygons=polygons, box_format=box_format, **kwargs)
