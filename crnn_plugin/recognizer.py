"""The Recognizer: pre-processing -> backend -> CTC decoding, in input order.

As docTR's pre-processor -> model -> post-processor: inputs are decoded, resized and normalised
in numpy/PIL (:mod:`crnn_plugin.preprocessing`), batched by width, run by a
:class:`~crnn_plugin.backend.Backend` (int8 ONNX Runtime, or PyTorch on CPU or CUDA) and decoded
by CTC in numpy (:mod:`crnn_plugin.ctc`). Nothing here imports torch: only the PyTorch backend
does, when it is chosen. Lexicons (:mod:`crnn_plugin.lexicon`) and detector regions
(:mod:`crnn_plugin.regions`) use the Recognizer; it imports neither. :class:`Prediction`
(:mod:`crnn_plugin.prediction`), the argument checks (:mod:`crnn_plugin.recognizer_inputs`) and
the pre-processing of crops into views (:mod:`crnn_plugin.recognizer_prepare`) live in their own
modules.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .backend import Backend, backend_for_model, load_backend, num_frames
from .ctc import Decoded, as_array, beam_search, best_path, log_softmax
from .errors import WeightsError
from .lm_rescore import LM_WEIGHT, rescorable, rescore
from .prediction import Prediction
from .preprocessing import ImageInput, pad_batch, width_buckets
from .recognizer_inputs import LexiconLike, _check_positive_int, _is_single_input, _lexicons_per_input
from .recognizer_prepare import CropPreparation
from .views import choose_views
from .vocab import Tokenizer

if TYPE_CHECKING:
    from .model import CRNN

__all__ = ["Prediction", "Recognizer", "LexiconLike"]

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


def __getattr__(name: str) -> Any:
    """PyTorch helpers that lived here: ``resolve_device``, ``cuda_amp_dtype`` and
    ``cpu_supports_bf16`` are in :mod:`crnn_plugin.torch_backend` (importing them imports torch)."""
    if name in ("resolve_device", "cuda_amp_dtype", "cpu_supports_bf16"):
        from . import torch_backend

        return getattr(torch_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Recognizer(CropPreparation):
    """Recognise word (or line) crops of any width with a CRNN.

    >>> rec = Recognizer.from_pretrained()           # shipped weights, offline
    >>> rec(["examples/crops/hello.png"])[0].text    # doctest: +SKIP
    'hello'

    Inputs: paths, encoded bytes, PIL images (any mode) or numpy arrays in **RGB** order
    (see :func:`crnn_plugin.preprocessing.load_image`). Crops are resized to height 32 keeping the
    aspect ratio and batched by padded width, so a crop reads the same whatever else is in the
    call (``batch_invariant``); crops 1.5x taller than wide are also read turned 90 degrees
    (``rotate_tall``), unsure readings of crops narrower than 3:1 also stretched to 3:1
    (``stretch_narrow``) and deskewed (``deskew_narrow``), the most probable reading kept
    (:mod:`crnn_plugin.views`). Results come back in input order.

    ``model``: a :class:`~crnn_plugin.backend.Backend`, or a PyTorch :class:`~crnn_plugin.CRNN`
    (then ``device``, ``amp``, ``backend`` and ``onnx_path`` choose its backend). Backends: on
    CUDA, PyTorch with fp16/bf16 autocast. On CPU, ``backend="auto"`` runs the model folder's int8
    ONNX export (``model.int8.onnx``, convolutions and LSTM in int8 through ONNX Runtime) when
    there is one made from these weights, else PyTorch in bf16 (CPUs with native bf16) or fp32.
    ``backend="torch"`` never uses ONNX; ``amp=False`` means PyTorch fp32. Without PyTorch
    installed only the ONNX backend exists (see :func:`crnn_plugin.backend.load_backend`).
    """

    def __init__(
        self,
        model: CRNN | Backend,
        *,
        device: Any = "auto",
        batch_size: int | None = None,
        amp: bool = True,
        beam_width: int | None = None,
        backend: str = "auto",
        onnx_path: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        rotate_tall: bool = True,
        batch_invariant: bool = True,
        stretch_narrow: bool = True,
        deskew_narrow: bool = True,
        lm_weight: float = LM_WEIGHT,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("workers", workers), ("beam_width", beam_width)):
            _check_positive_int(name, value)
        if isinstance(model, Backend):
            #: runs the network (see :mod:`crnn_plugin.backend`)
            self.runner: Backend = model
            self._model: CRNN | None = getattr(model, "model", None)
        else:
            self.runner = backend_for_model(
                model, device=device, amp=amp, backend=backend, onnx_path=onnx_path
            )
            self._model = model
        self._folder: Path | None = None
        self.config = self.runner.config
        self.tokenizer = Tokenizer(self.config.vocab)
        #: crops per forward pass (default: ``DEFAULT_BATCH_SIZE`` for the device type)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE.get(self.runner.device_type, 64)
        #: threads that decode and resize inputs (PIL and numpy release the GIL while they work)
        self.workers = workers or min(8, os.cpu_count() or 1)
        #: read tall crops (``TALL_RATIO``) in three orientations and keep the most probable reading
        self.rotate_tall = rotate_tall
        #: re-read unsure crops narrower than ``STRETCH_RATIO`` stretched to it (:mod:`.views`)
        self.stretch_narrow = stretch_narrow
        #: with them, read the unsure crop deskewed too (:mod:`.deskew`; needs ``stretch_narrow``)
        self.deskew_narrow = deskew_narrow
        if not (isinstance(lm_weight, (int, float)) and math.isfinite(lm_weight) and lm_weight >= 0):
            raise ValueError(f"lm_weight must be a finite number >= 0, got {lm_weight!r}")
        #: weight of the character language model on unsure letter readings (0: off; :mod:`.lm_rescore`)
        self.lm_weight = float(lm_weight)
        self.amp = amp
        self.beam_width = beam_width
        #: batches hold crops of one padded width only, so results do not depend on batch-mates
        self.batch_invariant = batch_invariant
        #: padded batch widths are rounded up to a multiple of this (see ``WIDTH_MULTIPLE``)
        self.width_multiple = WIDTH_MULTIPLE
        if self.backend == "onnx-int8" and not batch_invariant:
            self.width_multiple = ONNX_WIDTH_MULTIPLE

    @property
    def backend(self) -> str:
        """Which backend runs the model: ``"onnx-int8"`` or ``"torch"``."""
        return self.runner.name

    @property
    def device(self) -> Any:
        """Where the model runs: ``"cpu"`` for ONNX Runtime, a ``torch.device`` for PyTorch."""
        return self.runner.device

    @property
    def amp_dtype(self) -> Any:
        """PyTorch's autocast dtype (None: fp32, or not PyTorch)."""
        return getattr(self.runner, "amp_dtype", None)

    @property
    def model(self) -> CRNN:
        """The PyTorch module (docTR, ONNX export, parameter counts): the one given, or read from the
        model folder on first use. Needs PyTorch."""
        if self._model is None:
            if self._folder is None:
                raise WeightsError(f"this Recognizer's {self.backend} backend has no PyTorch model")
            from .backend import TORCH_EXTRA, torch_installed

            if not torch_installed():
                raise WeightsError(f"the PyTorch model of {self._folder} needs PyTorch: {TORCH_EXTRA}")
            from .hub import load_folder

            self._model = load_folder(self._folder)
        return self._model

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str] | None = None,
        *,
        revision: str | None = None,
        device: Any = "auto",
        batch_size: int | None = None,
        amp: bool = True,
        backend: str = "auto",
        workers: int | None = None,
        rotate_tall: bool = True,
        batch_invariant: bool = True,
        stretch_narrow: bool = True,
        deskew_narrow: bool = True,
        lm_weight: float = LM_WEIGHT,
        **kwargs: Any,
    ) -> Recognizer:
        """Load a model folder, shipped name or Hub repo id and wrap it in a Recognizer; the
        config is checked against the weights' header before anything is built."""
        from .model_folder import load_config, resolve_model_dir

        folder = resolve_model_dir(name_or_path, revision=revision, **kwargs)
        runner = load_backend(folder, load_config(folder), device=device, amp=amp, backend=backend)
        rec = cls(
            runner,
            batch_size=batch_size,
            amp=amp,
            workers=workers,
            rotate_tall=rotate_tall,
            batch_invariant=batch_invariant,
            stretch_narrow=stretch_narrow,
            deskew_narrow=deskew_narrow,
            lm_weight=lm_weight,
        )
        rec._folder = folder
        return rec

    # -- inference --------------------------------------------------------------------------------
    def logits(self, batch: Any) -> np.ndarray:
        """Model output ``(N, T, C)`` (float32 numpy) for a padded batch ``(N, 3, 32, W)``."""
        return self.runner(batch)

    def decode(self, logits: Any, beam_width: int | None = None) -> list[Decoded]:
        """CTC-decode ``(N, T, C)`` logits: best path, or prefix beam search when ``beam_width``.
        Readings the language model may rescore keep their log-probabilities (``lm_weight``)."""
        bw = beam_width if beam_width is not None else self.beam_width
        if bw and bw > 1:
            out = beam_search(logits, self.tokenizer, beam_width=bw)
        else:
            out = best_path(logits, self.tokenizer)
        todo = [j for j, d in enumerate(out) if rescorable(d)] if self.lm_weight > 0 else []
        if todo:
            lp = log_softmax(as_array(logits)[todo])  # only the rows the language model may need
            for j, row in zip(todo, lp):
                out[j] = dataclasses.replace(out[j], log_probs=row)
        return out

    def with_language_model(self, decoded: Decoded) -> Prediction:
        """The lexicon-free :class:`Prediction` of ``decoded``, rescored by the character language
        model if it kept its log-probabilities (:mod:`crnn_plugin.lm_rescore`)."""
        if decoded.log_probs is not None and self.lm_weight > 0:
            decoded = rescore(decoded.log_probs, decoded, self.tokenizer, weight=self.lm_weight)
        return Prediction(decoded.text, decoded.confidence, decoded.char_confidences)

    def batches(self, arrays: Sequence[np.ndarray]) -> Iterator[tuple[list[int], np.ndarray]]:
        """The batches the model runs for pre-processed ``(3, 32, W_i)`` crops: width buckets of at
        most ``batch_size`` (one padded width each when ``batch_invariant``), as the indices of their
        crops and the padded ``(N, 3, 32, W)`` float32 batch."""
        widths = [a.shape[-1] for a in arrays]
        for idx in width_buckets(
            widths, self.batch_size, self.width_multiple if self.batch_invariant else None
        ):
            batch = pad_batch(
                [arrays[i] for i in idx], self.config.mean, self.config.std, multiple=self.width_multiple
            )
            yield idx, batch

    def predict_tensors(
        self, arrays: Sequence[np.ndarray], *, beam_width: int | None = None
    ) -> list[Decoded]:
        """Recognise already pre-processed ``(3, 32, W_i)`` arrays, batched by width, in order."""
        results: list[Decoded | None] = [None] * len(arrays)
        for idx, batch in self.batches(arrays):
            for i, d in zip(idx, self.decode(self.logits(batch), beam_width)):
                results[i] = d
        return [r for r in results if r is not None]

    def log_probs_and_decode(self, arrays: Sequence[np.ndarray]) -> list[tuple[np.ndarray, Decoded]]:
        """Per crop: log-probabilities ``(T_i, C)`` (frames of its own width) and best path."""
        results: list[tuple[np.ndarray, Decoded] | None] = [None] * len(arrays)
        for idx, batch in self.batches(arrays):
            logits = self.logits(batch)
            decoded = best_path(logits, self.tokenizer)
            lp = log_softmax(logits)
            for j, (i, d) in enumerate(zip(idx, decoded)):
                results[i] = (lp[j, : num_frames(arrays[i].shape[-1])], d)
        return [r for r in results if r is not None]

    def orient(
        self, variants: Sequence[Sequence[np.ndarray]]
    ) -> tuple[list[np.ndarray], list[Decoded | None]]:
        """One array per input from :meth:`prepare_variants`, chosen by
        :func:`crnn_plugin.views.choose_views`; also the chosen reading of every input that had
        several views (None for the others)."""
        return choose_views(variants, self.predict_tensors)

    def predict_oriented(
        self, variants: Sequence[Sequence[np.ndarray]], *, beam_width: int | None = None
    ) -> list[Decoded]:
        """:meth:`predict_tensors` for inputs from :meth:`prepare_variants` (see :meth:`orient`)."""
        arrays, reads = self.orient(variants)
        bw = beam_width if beam_width is not None else self.beam_width
        todo = [i for i, r in enumerate(reads) if r is None or (bw is not None and bw > 1)]
        for i, d in zip(todo, self.predict_tensors([arrays[i] for i in todo], beam_width=beam_width)):
            reads[i] = d
        return [r for r in reads if r is not None]

    def predict_prepared(
        self,
        variants: Sequence[Sequence[np.ndarray]],
        *,
        lexicon: object = None,
        beam_width: int | None = None,
    ) -> list[Prediction]:
        """Predictions for inputs from :meth:`prepare_variants`, lexicon-free or with ``lexicon``
        (one :class:`~crnn_plugin.Lexicon` for all, or one Lexicon or None per input)."""
        if lexicon is None:
            return [
                self.with_language_model(d) for d in self.predict_oriented(variants, beam_width=beam_width)
            ]
        lexs = _lexicons_per_input(lexicon, len(variants))
        vocab = self.config.vocab
        out: list[Prediction] = []
        for (lp, dec), lex in zip(self.log_probs_and_decode(self.orient(variants)[0]), lexs):
            if lex is None:
                out.append(Prediction(dec.text, dec.confidence, dec.char_confidences, raw_text=dec.text))
            else:
                out.append(lex.correct(lp, dec, vocab))
        return out

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

        ``lexicon``: one :class:`~crnn_plugin.Lexicon` for every input (or its name or file,
        loaded on each call: load it once with ``Lexicon.load`` for repeated calls), or a list with
        one Lexicon (or None: lexicon-free) per input; ``beam_width`` is then ignored.
        """
        if errors not in ("return", "raise"):
            raise ValueError("errors must be 'return' or 'raise'")
        _check_positive_int("beam_width", beam_width)
        single = _is_single_input(images)
        items: Sequence[ImageInput] = [images] if single else list(images)  # type: ignore[list-item,arg-type]
        lexs = None if lexicon is None else _lexicons_per_input(lexicon, len(items))  # checked first
        variants: list[list[np.ndarray]] = []
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
        preds = self.predict_prepared(
            variants, lexicon=None if lexs is None else [lexs[i] for i in ok_idx], beam_width=beam_width
        )
        for i, p in zip(ok_idx, preds):
            out[i] = p
        return [p for p in out if p is not None]

    def recognize(
        self,
        image: ImageInput,
        *,
        boxes: Any = None,
        polygons: Any = None,
        box_format: str = "xyxy",
        **kwargs: Any,
    ) -> list[tuple[Any, str, float]]:
        """EasyOCR-style ``[(box, text, confidence)]`` for detector regions of ``image``: the same as
        :func:`crnn_plugin.recognize_regions` (``rec.recognize(page, boxes=...)``)."""
        from .regions import recognize_regions  # imported on use: regions.py builds on this module

        return recognize_regions(self, image, boxes=boxes, polygons=polygons, box_format=box_format, **kwargs)
