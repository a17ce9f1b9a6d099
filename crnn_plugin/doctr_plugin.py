"""docTR integration: the only module of crnn_plugin that imports doctr.

:func:`register_doctr` (idempotent) makes ``"crnn_plugin"`` a docTR recognition architecture, so

    >>> from doctr.models import ocr_predictor                       # doctest: +SKIP
    >>> predictor = ocr_predictor(det_arch="fast_base", reco_arch="crnn_plugin", pretrained=True)

works, and lets docTR's predictors accept our models (``reco_arch=crnn_plugin.from_pretrained()``).
docTR has no plugin mechanism, so registration (1) appends the name to docTR's recognition
``ARCHS`` list, (2) adds the factory to ``doctr.models.recognition``, and (3) wraps docTR's
recognition ``_predictor`` so that a :class:`crnn_plugin.CRNN` is adapted before docTR's
``isinstance`` check. ``import crnn_plugin`` does this on its own once docTR gets imported.

docTR's ``vocab=`` convention holds: ``crnn_plugin(pretrained=False, vocab=V)`` builds an untrained
model for ``V``; ``crnn_plugin(pretrained=True, vocab=V)`` with ``V`` other than the weights'
vocabulary keeps every layer and re-initialises only the classifier rows of characters the
weights do not know (docTR re-initialises the whole layer), with a warning naming those rows.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from doctr.models import recognition as doctr_recognition
from doctr.models.recognition import zoo as doctr_zoo
from doctr.models.recognition.core import RecognitionPostProcessor
from doctr.models.recognition.crnn.pytorch import CRNN as _DoctrCRNN
from torch import nn

from .config import CRNNConfig
from .ctc import Decoded, best_path, ctc_loss, log_softmax
from .deskew import DESKEW_RATIO, shear_band, slant_slope
from .errors import WeightsError
from .lm_rescore import LM_WEIGHT, rescore
from .model import CRNN
from .transfer import new_rows, transfer_weights, with_vocab
from .views import STRETCH_BELOW, STRETCH_RATIO, wins
from .vocab import Tokenizer

__all__ = [
    "ARCH_NAME",
    "DoctrCRNN",
    "CTCDecoder",
    "crnn_plugin",
    "register_doctr",
    "as_doctr_model",
    "evaluate_doctr_path",
]

logger = logging.getLogger(__name__)

#: The ``reco_arch`` name under which the shipped default model is registered.
ARCH_NAME = "crnn_plugin"
#: docTR's recognition input size: every crop is fitted into 32 x 128 with padding.
DOCTR_INPUT_SHAPE = (3, 32, 128)


class CTCDecoder(RecognitionPostProcessor):
    """docTR post-processor: ``(N, T, C)`` logits to ``[(word, confidence)]``; ``repr`` is
    ``CTCDecoder(vocab_size=N)`` like docTR's own.

    The confidence is the exact CTC probability of the word (all alignments), in ``[0, 1]``.
    """

    def __init__(self, vocab: str) -> None:
        super().__init__(vocab)
        self._tok = Tokenizer(vocab)

    def __call__(self, logits: torch.Tensor) -> list[tuple[str, float]]:
        if logits.dim() != 3 or logits.shape[-1] != len(self.vocab) + 1:
            raise ValueError(
                f"expected (N, T, {len(self.vocab) + 1}) logits for a vocab of {len(self.vocab)} characters "
                f"and the CTC blank, got {tuple(logits.shape)}"
            )
        return [(d.text, d.confidence) for d in best_path(logits.float(), self._tok)]


class DoctrCRNN(_DoctrCRNN):
    """Our CRNN behind docTR's recognition-model contract.

    It subclasses docTR's ``CRNN`` only to pass docTR's ``isinstance`` checks; the network is
    ours (``self.crnn``). ``forward(x, target=None, return_model_output=False, return_preds=False)``
    returns docTR's dict: ``preds`` as ``(str, float)`` 2-tuples, ``out_map`` and ``loss``; with
    ``exportable=True`` only ``logits`` (for ONNX export). The CTC blank is the last class.

    In eval mode, as :class:`~crnn_plugin.Recognizer` does, a crop whose content (docTR pads it
    into 32x128) is narrower than 3:1 and whose reading is unsure is read once more stretched to
    3:1 and deskewed, the most probable reading kept (:mod:`crnn_plugin.views`); ``out_map``
    stays the logits of the crops as given. ``stretch_narrow = False`` turns this off,
    ``deskew_narrow = False`` the deskewed views only. Unsure letter readings are then rescored
    by the character language model (:mod:`crnn_plugin.lm_rescore`; ``lm_weight = 0`` turns it
    off).
    """

    def __init__(
        self, model: CRNN, *, exportable: bool = False, input_shape: tuple[int, int, int] | None = None
    ) -> None:
        nn.Module.__init__(self)  # not docTR's __init__: that would build docTR's own backbone
        self.crnn = model
        self.vocab = model.config.vocab
        self.max_length = 32
        self.exportable = exportable
        self.cfg: dict[str, Any] = {
            "mean": tuple(model.config.mean),
            "std": tuple(model.config.std),
            "input_shape": input_shape or _default_input_shape(model.config),
            "vocab": model.config.vocab,
            "url": None,
            "arch": ARCH_NAME,
        }
        self.postprocessor = CTCDecoder(model.config.vocab)  # type: ignore[assignment]
        self._tokenizer = Tokenizer(model.config.vocab)
        #: re-read unsure crops whose content is narrower than 3:1 stretched to 3:1 (eval mode)
        self.stretch_narrow = True
        #: ... and deskewed (:mod:`crnn_plugin.deskew`)
        self.deskew_narrow = True
        #: weight of the character language model on unsure letter readings (0: off, eval mode)
        self.lm_weight = LM_WEIGHT

    def forward(  # type: ignore[override]
        self,
        x: torch.Tensor,
        target: list[str] | None = None,
        return_model_output: bool = False,
        return_preds: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if self.training and target is None:
            raise ValueError("Need to provide labels during training")
        logits = self.crnn(x)
        out: dict[str, Any] = {}
        if self.exportable:
            out["logits"] = logits
            return out
        if return_model_output:
            out["out_map"] = logits
        if target is None or return_preds:
            preds = self.postprocessor(logits)
            # each reading's log-probabilities, for the language model (eval mode)
            lps = list(log_softmax(logits.float())) if self.lm_weight > 0 and not self.training else None
            if self.stretch_narrow and not self.training:
                preds = self._stretch_unsure(x, preds, lps)
            if lps is not None:
                preds = [self._with_language_model(p, lp) for p, lp in zip(preds, lps)]
            out["preds"] = preds
        if target is not None:
            out["loss"] = self.compute_loss(logits, target)
        return out

    def _with_language_model(self, pred: tuple[str, float], log_probs: np.ndarray) -> tuple[str, float]:
        d = rescore(log_probs, Decoded(pred[0], pred[1], ()), self._tokenizer, weight=self.lm_weight)
        return d.text, d.confidence

    def _stretch_unsure(
        self, x: torch.Tensor, preds: list[tuple[str, float]], lps: list[np.ndarray] | None = None
    ) -> list[tuple[str, float]]:
        """``preds`` with unsure narrow crops of the padded batch ``x`` ``(N, C, H, W)`` re-read
        stretched to ``STRETCH_RATIO`` and, when ``deskew_narrow``, deskewed (see
        :mod:`crnn_plugin.views`); ``lps`` (each reading's log-probabilities) follows the choice."""
        height = x.shape[-2]
        width = round(STRETCH_RATIO * height)
        spans = content_columns(x, self.cfg["mean"], self.cfg["std"])
        todo = [i for i, (a, b) in enumerate(spans) if 0 < b - a < width and preds[i][1] < STRETCH_BELOW]
        if not todo:
            return preds
        views, owners = [], []  # the arrays read again, and the crop each belongs to
        for i in todo:
            crop = x[i : i + 1, :, :, spans[i][0] : spans[i][1]].float()
            views.append(crop)
            owners.append(i)
            if self.deskew_narrow and spans[i][1] - spans[i][0] < DESKEW_RATIO * height:
                hwc = crop[0].permute(1, 2, 0).cpu().numpy()
                band = shear_band(hwc, slant_slope(hwc.mean(axis=2)))
                views.append(torch.from_numpy(band).permute(2, 0, 1)[None].to(crop.device))
                owners.append(i)
        batch = torch.cat([F.interpolate(v, size=(height, width), mode="bilinear") for v in views])
        with torch.no_grad():
            logits = self.crnn(batch.to(x.dtype))
        again = self.postprocessor(logits)
        again_lps = log_softmax(logits.float()) if lps is not None else None
        out = list(preds)
        for k, (i, (text, conf)) in enumerate(zip(owners, again)):
            if wins(text, conf, out[i][1]):
                out[i] = (text, conf)
                if lps is not None and again_lps is not None:
                    lps[i] = again_lps[k]
        return out

    def compute_loss(self, model_output: torch.Tensor, target: list[str]) -> torch.Tensor:  # type: ignore[override]
        """Mean CTC loss against the target words."""
        targets, lengths = Tokenizer(self.vocab).encode_batch(target)
        return ctc_loss(model_output, targets.to(model_output.device), lengths.to(model_output.device))

    def from_pretrained(self, path_or_url: str, **kwargs: Any) -> None:  # type: ignore[override]
        """Load a crnn_plugin model folder, shipped name or Hub repo id (safetensors only).

        This model keeps its vocabulary: weights of another vocabulary are mapped by character
        (new characters' classifier rows stay as they are, with a warning), as docTR's
        ``ignore_keys`` does for the whole layer. docTR's ``hash_prefix``/``ignore_keys`` are
        accepted and not needed (safetensors headers are checked, the classifier is mapped).
        """
        from .hub import from_pretrained

        kwargs.pop("hash_prefix", None)
        kwargs.pop("ignore_keys", None)
        loaded = from_pretrained(path_or_url, **kwargs)
        if loaded.vocab == self.vocab:
            try:
                self.crnn.load_state_dict(loaded.state_dict())
            except RuntimeError as e:
                raise WeightsError(f"{path_or_url}: another architecture than this model's ({e})") from e
        else:
            try:
                new = transfer_weights(loaded, self.crnn)
            except ValueError as e:
                raise WeightsError(f"{path_or_url}: another architecture than this model's ({e})") from e
            _warn_new_rows(self.vocab, new, str(path_or_url))
        # the weights' normalisation, under this model's vocabulary
        self.crnn.config = dataclasses.replace(loaded.config, vocab=self.vocab)
        self.cfg.update(mean=tuple(loaded.config.mean), std=tuple(loaded.config.std))


def content_columns(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> list[tuple[int, int]]:
    """Per crop of a docTR batch ``(N, C, H, W)``: the ``[start, end)`` columns that are not
    docTR's padding (zeros before normalisation, so ``-mean / std``); ``(0, 0)`` if all padding."""
    c = x.shape[1]
    m = torch.tensor(list(mean) * (c // len(mean)), dtype=torch.float32, device=x.device)
    sd = torch.tensor(list(std) * (c // len(std)), dtype=torch.float32, device=x.device)
    pad = (-m / sd).view(1, -1, 1, 1)
    content = ((x.float() - pad).abs() > 1e-3).any(dim=2).any(dim=1)  # (N, W)
    spans = []
    for row in content:
        cols = torch.nonzero(row).flatten()
        spans.append((int(cols[0]), int(cols[-1]) + 1) if len(cols) else (0, 0))
    return spans


def _warn_new_rows(vocab: str, new: list[str], source: str) -> None:
    """docTR warns when ``vocab=`` differs from the pretrained one; we say which rows are fresh."""
    warnings.warn(
        f"crnn_plugin: vocab differs from the vocabulary of the pretrained weights ({source}): layer "
        f"'classifier' re-initialised for {len(new)} of {len(vocab)} characters, "
        f"rows {new_rows(vocab, new)}; the other characters, the CTC blank and every other layer "
        "keep their trained weights. "
        "Fine-tune the model before relying on the new characters.",
        UserWarning,
        stacklevel=3,
    )


def as_doctr_model(model: CRNN | DoctrCRNN) -> DoctrCRNN:
    """Wrap a :class:`crnn_plugin.CRNN` for docTR (a ``DoctrCRNN`` is returned unchanged)."""
    if isinstance(model, DoctrCRNN):
        return model
    if not isinstance(model, CRNN):
        raise TypeError(f"expected a crnn_plugin.CRNN, got {type(model).__name__}")
    return DoctrCRNN(model)


def crnn_plugin(pretrained: bool = False, pretrained_backbone: bool = True, **kwargs: Any) -> DoctrCRNN:
    """docTR factory for the shipped default model (``model=`` names another folder, shipped
    model or Hub repo id).

    ``pretrained=True`` loads the weights (offline for shipped ones); ``pretrained=False`` builds
    the same architecture untrained. ``vocab=V`` follows docTR: untrained for ``V``, or the
    pretrained weights with the classifier rows of characters new to them re-initialised (a
    warning names them). ``input_shape=(C, 32, W)`` sets the width docTR's pre-processor pads
    to (any width works); ``exportable=True`` returns logits only, for ONNX export.

    >>> from doctr.models import recognition                         # doctest: +SKIP
    >>> model = recognition.crnn_plugin(pretrained=True, vocab=VOCABS["french"])  # doctest: +SKIP
    """
    from .hub import DEFAULT_MODEL, from_pretrained, load_config, resolve_model_dir

    name = kwargs.pop("model", None)
    vocab = kwargs.pop("vocab", None)
    input_shape = kwargs.pop("input_shape", None)
    exportable = bool(kwargs.pop("exportable", False))
    if kwargs:
        raise TypeError(f"crnn_plugin() got unexpected keyword arguments {sorted(kwargs)}")
    if vocab is not None and not isinstance(vocab, str):
        raise TypeError(f"vocab must be a string of characters, got {type(vocab).__name__}")
    if pretrained:
        net = from_pretrained(name)
        if vocab is not None and vocab != net.vocab:
            net, new = with_vocab(net, vocab)
            _warn_new_rows(vocab, new, str(name or DEFAULT_MODEL))
    else:
        config = load_config(resolve_model_dir(name))  # checked against its weights' header
        if vocab is not None:
            config = dataclasses.replace(config, vocab=vocab)
        net = CRNN(config).eval()
    return DoctrCRNN(net, exportable=exportable, input_shape=_input_shape(input_shape, net))


def _default_input_shape(c: CRNNConfig) -> tuple[int, int, int]:
    """docTR's 1:4 box at the model's height: ``(C, 32, 128)``, or ``(C, 48, 192)`` at height 48."""
    h = c.input_height
    return (c.in_channels, h, DOCTR_INPUT_SHAPE[2] * h // DOCTR_INPUT_SHAPE[1])


def _input_shape(value: Any, net: CRNN) -> tuple[int, int, int] | None:
    if value is None:
        return None
    c = net.config
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or shape[0] != c.in_channels or shape[1] != c.input_height or shape[2] < c.min_width:
        raise ValueError(
            f"input_shape must be ({c.in_channels}, {c.input_height}, W) with W >= {c.min_width}, "
            f"got {value!r}"
        )
    return (shape[0], shape[1], shape[2])


def _wrap_predictor(original: Any) -> Any:
    @functools.wraps(original)
    def _predictor(arch: Any, pretrained: bool, **kwargs: Any) -> Any:
        from .recognizer import Recognizer

        if isinstance(arch, Recognizer):  # its PyTorch model; docTR does its own batching
            arch = arch.model
        if isinstance(arch, CRNN):
            arch = DoctrCRNN(arch)
        return original(arch, pretrained, **kwargs)

    _predictor.__crnn_plugin__ = True  # type: ignore[attr-defined]
    return _predictor


def register_doctr() -> None:
    """Register ``"crnn_plugin"`` with docTR (idempotent; safe to call many times)."""
    if ARCH_NAME not in doctr_zoo.ARCHS:
        doctr_zoo.ARCHS.append(ARCH_NAME)
    setattr(doctr_recognition, ARCH_NAME, crnn_plugin)
    if not getattr(doctr_zoo._predictor, "__crnn_plugin__", False):
        doctr_zoo._predictor = _wrap_predictor(doctr_zoo._predictor)
    logger.debug("registered %s with docTR", ARCH_NAME)


def evaluate_doctr_path(
    model: CRNN, dirs: Sequence[str | Path], *, limit: int | None = None, batch_size: int = 64
) -> str:
    """36-class accuracy through docTR's ``recognition_predictor`` (32x128 inputs, wide crops split)
    beside our variable-width Recognizer on the same PyTorch model, as a markdown table."""
    from doctr.models import recognition_predictor

    from .evaluate import evaluate_folder, normalize36, read_labelled, spaced_words
    from .preprocessing import load_image
    from .recognizer import Recognizer

    register_doctr()
    predictor = recognition_predictor(DoctrCRNN(model), batch_size=batch_size)
    rec = Recognizer(model, device=next(model.parameters()).device, batch_size=batch_size)
    lines = [
        "| dataset | images | crnn_plugin Recognizer (variable width, same PyTorch model) "
        "| docTR recognition_predictor (32x128) | readings with a space, label without (ours / docTR) |",
        "|---|---|---|---|---|",
    ]
    for d in dirs:
        data = read_labelled(d, limit=limit)
        n = len(data.labels)
        crops = [np.asarray(load_image(x, name=f"{data.root / k}")) for x, k in zip(data.inputs, data.names)]
        preds = predictor(crops)
        ok = sum(normalize36(p[0]) == normalize36(lab) for p, lab in zip(preds, data.labels))
        acc_doctr = ok / max(n, 1)
        ours = evaluate_folder(rec, d, limit=limit)
        spaced = f"{ours.spaced_words} / {spaced_words([p[0] for p in preds], data.labels)}"
        lines.append(
            f"| {data.root.name} | {n} | {100 * ours.acc36:.1f} | {100 * acc_doctr:.1f} | {spaced} |"
        )
    return "\n".join(lines)


register_doctr()  # importing the docTR integration makes "crnn_plugin" usable in docTR at once
