"""docTR integration: the only module of crnn_plugin that imports doctr.

:func:`register_doctr` (idempotent) makes ``"crnn_plugin"`` a docTR recognition architecture, so

    >>> from doctr.models import ocr_predictor                       # doctest: +SKIP
    >>> predictor = ocr_predictor(det_arch="fast_base", reco_arch="crnn_plugin", pretrained=True)

works, and lets docTR's predictors accept our models (``reco_arch=crnn_plugin.from_pretrained()``).
docTR has no plugin mechanism, so registration (1) appends the name to docTR's recognition
``ARCHS`` list, (2) adds the factory to ``doctr.models.recognition``, and (3) wraps docTR's
recognition ``_predictor`` so that a :class:`crnn_plugin.CRNN` is adapted before docTR's
``isinstance`` check. ``import crnn_plugin`` does this on its own once docTR gets imported.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from doctr.models import recognition as doctr_recognition
from doctr.models.recognition import zoo as doctr_zoo
from doctr.models.recognition.crnn.pytorch import CRNN as _DoctrCRNN
from torch import nn

from .config import CRNNConfig
from .ctc import best_path, ctc_loss
from .model import CRNN
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


class CTCDecoder:
    """docTR-style post-processor: ``(N, T, C)`` logits to ``[(word, confidence)]``.

    The confidence is the exact CTC probability of the word (all alignments), in ``[0, 1]``.
    """

    def __init__(self, vocab: str) -> None:
        self.vocab = vocab
        self._tok = Tokenizer(vocab)

    def __call__(self, logits: torch.Tensor) -> list[tuple[str, float]]:
        return [(d.text, d.confidence) for d in best_path(logits.float(), self._tok)]


class DoctrCRNN(_DoctrCRNN):
    """Our CRNN behind docTR's recognition-model contract.

    It subclasses docTR's ``CRNN`` only to pass docTR's ``isinstance`` checks; the network is
    ours (``self.crnn``). ``forward(x, target=None, return_model_output=False, return_preds=False)``
    returns docTR's dict: ``preds`` as ``(str, float)`` 2-tuples, ``out_map`` and ``loss``; with
    ``exportable=True`` only ``logits`` (for ONNX export). The CTC blank is the last class.
    """

    def __init__(self, model: CRNN, *, exportable: bool = False) -> None:
        nn.Module.__init__(self)  # not docTR's __init__: that would build docTR's own backbone
        self.crnn = model
        self.vocab = model.config.vocab
        self.max_length = 32
        self.exportable = exportable
        self.cfg: dict[str, Any] = {
            "mean": tuple(model.config.mean),
            "std": tuple(model.config.std),
            "input_shape": DOCTR_INPUT_SHAPE,
            "vocab": model.config.vocab,
            "url": None,
            "arch": ARCH_NAME,
        }
        self.postprocessor = CTCDecoder(model.config.vocab)  # type: ignore[assignment]

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
            out["preds"] = self.postprocessor(logits)
        if target is not None:
            out["loss"] = self.compute_loss(logits, target)
        return out

    def compute_loss(self, model_output: torch.Tensor, target: list[str]) -> torch.Tensor:  # type: ignore[override]
        """Mean CTC loss against the target words."""
        targets, lengths = Tokenizer(self.vocab).encode_batch(target)
        return ctc_loss(model_output, targets.to(model_output.device), lengths.to(model_output.device))

    def from_pretrained(self, path_or_url: str, **kwargs: Any) -> None:  # type: ignore[override]
        """Load a crnn_plugin model folder, shipped name or Hub repo id (safetensors only)."""
        from .hub import from_pretrained

        loaded = from_pretrained(path_or_url, **kwargs)
        self.crnn.load_state_dict(loaded.state_dict())


def as_doctr_model(model: CRNN | DoctrCRNN) -> DoctrCRNN:
    """Wrap a :class:`crnn_plugin.CRNN` for docTR (a ``DoctrCRNN`` is returned unchanged)."""
    if isinstance(model, DoctrCRNN):
        return model
    if not isinstance(model, CRNN):
        raise TypeError(f"expected a crnn_plugin.CRNN, got {type(model).__name__}")
    return DoctrCRNN(model)


def crnn_plugin(pretrained: bool = False, pretrained_backbone: bool = True, **kwargs: Any) -> DoctrCRNN:
    """docTR factory for the shipped default model.

    ``pretrained=True`` loads the shipped weights (offline); ``pretrained=False`` builds the same
    architecture untrained. ``model=`` may name another folder, shipped model or Hub repo id.
    ``vocab``/``input_shape`` passed by docTR are checked, not silently ignored.
    """
    from .hub import from_pretrained, resolve_model_dir

    name = kwargs.pop("model", None)
    if pretrained:
        net = from_pretrained(name)
    else:
        net = CRNN(CRNNConfig.load(resolve_model_dir(name) / "config.json"))
    vocab = kwargs.pop("vocab", None)
    if vocab is not None and vocab != net.config.vocab:
        raise ValueError(
            "crnn_plugin models have a fixed vocab (see config.json); use add_whitelist to restrict it"
        )
    kwargs.pop("input_shape", None)  # any width works; docTR's pre-processor decides the shape
    return DoctrCRNN(net, exportable=bool(kwargs.pop("exportable", False)))


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

    from .evaluate import evaluate_folder, normalize36, read_labelled
    from .preprocessing import load_image
    from .recognizer import Recognizer

    register_doctr()
    predictor = recognition_predictor(DoctrCRNN(model), batch_size=batch_size)
    rec = Recognizer(model, device=next(model.parameters()).device, batch_size=batch_size)
    lines = [
        "| dataset | images | crnn_plugin Recognizer (variable width, same PyTorch model) "
        "| docTR recognition_predictor (32x128) |",
        "|---|---|---|---|",
    ]
    for d in dirs:
        data = read_labelled(d, limit=limit)
        n = len(data.labels)
        crops = [np.asarray(load_image(x, name=f"{data.root / k}")) for x, k in zip(data.inputs, data.names)]
        preds = predictor(crops)
        ok = sum(normalize36(p[0]) == normalize36(lab) for p, lab in zip(preds, data.labels))
        acc_doctr = ok / max(n, 1)
        ours = evaluate_folder(rec, d, limit=limit)
        lines.append(f"| {data.root.name} | {n} | {100 * ours.acc36:.1f} | {100 * acc_doctr:.1f} |")
    return "\n".join(lines)


register_doctr()  # importing the docTR integration makes "crnn_plugin" usable in docTR at once
