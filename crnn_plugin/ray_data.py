"""Batch recognition on Ray Data: a callable class for ``ray.data.Dataset.map_batches``.

:class:`CRNNPredictor` loads the model once per Ray actor (its ``__init__``) and reads one batch
per call: a column of encoded image bytes, paths or arrays in, ``text``, ``confidence`` and
``error`` columns out, in input order. A bad image is an error row (``text=""``,
``confidence=0.0``, ``error`` set), never a failed batch. Nothing here imports Ray: the class is a
plain callable, so it also runs (and is tested) without a cluster; :func:`recognize_dataset` is
the one-line ``map_batches`` call and imports Ray when called. Install with
``pip install "crnn-plugin[ray]"``; see README, "Batch recognition on Ray Data".

>>> import ray                                                       # doctest: +SKIP
>>> from crnn_plugin.ray_data import CRNNPredictor                  # doctest: +SKIP
>>> ds = ray.data.read_binary_files("crops/", include_paths=True)   # doctest: +SKIP
>>> ds = ds.map_batches(CRNNPredictor, fn_constructor_kwargs={"column": "bytes"},
...                     compute=ray.data.ActorPoolStrategy(size=2), batch_size=256)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .recognizer import Prediction, Recognizer

__all__ = ["CRNNPredictor", "OUTPUT_COLUMNS", "recognize_dataset"]

logger = logging.getLogger(__name__)

#: The columns :class:`CRNNPredictor` adds to every batch.
OUTPUT_COLUMNS = ("text", "confidence", "error")


def _as_input(value: Any) -> Any:
    """One cell of the input column as a :class:`~crnn_plugin.Recognizer` input: bytes (Arrow
    binary cells arrive as ``bytes`` or ``np.bytes_``), a path (``str``), or an RGB array."""
    if isinstance(value, np.bytes_):
        return bytes(value)
    if isinstance(value, np.str_):
        value = str(value)
    if isinstance(value, str) and "://" in value:  # s3://, gs://, file://...: read with pyarrow
        return _read_uri(value)
    if isinstance(value, (bytes, bytearray, str, os.PathLike, np.ndarray)):
        return value
    if value is None:
        raise ValueError("missing image (null cell)")
    # a list of lists (JSON rows) or any other array-like: an RGB array
    return np.asarray(value)


def _read_uri(uri: str) -> bytes:
    """The bytes of a file URI that pyarrow can open (``s3://``, ``gs://``, ``hdfs://``, ``file://``)."""
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(uri)
    with filesystem.open_input_file(path) as f:
        return bytes(f.read())


def _threads_from_env() -> int | None:
    """Ray sets ``OMP_NUM_THREADS`` to an actor's ``num_cpus``: decode with as many threads."""
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return n if n >= 1 else None


class CRNNPredictor:
    """Recognise the images of a column, one batch at a time; for ``Dataset.map_batches``.

    ``model``: a shipped name, a model folder or a Hub repo id (``None``: the shipped default), read
    on the node that runs the actor, once per actor. ``column``: the input column, whose cells are
    encoded bytes (``read_binary_files``: ``"bytes"``), paths (``from_items([{"path": ...}])``) or
    RGB arrays (``read_images``: ``"image"``). ``keep_input=False`` (default) drops that column from
    the output, so image bytes are not written out; every other column (``path``...) is kept.

    ``device``: ``"auto"`` runs on the GPU Ray gives the actor (``num_gpus=1``), else on CPU (int8
    ONNX Runtime with as many threads as the actor's ``num_cpus``). ``batch_size``, ``backend``,
    ``beam_width``, ``rotate_tall``, ``stretch_narrow``, ``deskew_narrow``, ``lm_weight`` (None:
    the default) and ``workers`` are the :class:`~crnn_plugin.Recognizer`'s.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        column: str = "image",
        keep_input: bool = False,
        device: Any = "auto",
        backend: str = "auto",
        batch_size: int | None = None,
        beam_width: int | None = None,
        rotate_tall: bool = True,
        workers: int | None = None,
        stretch_narrow: bool = True,
        deskew_narrow: bool = True,
        lm_weight: float | None = None,
    ) -> None:
        from .lm_rescore import LM_WEIGHT
        from .recognizer import Recognizer

        self.column = column
        self.keep_input = keep_input
        self.beam_width = beam_width
        self.recognizer: Recognizer = Recognizer.from_pretrained(
            model,
            device=device,
            backend=backend,
            batch_size=batch_size,
            rotate_tall=rotate_tall,
            stretch_narrow=stretch_narrow,
            deskew_narrow=deskew_narrow,
            lm_weight=LM_WEIGHT if lm_weight is None else lm_weight,
            workers=workers or _threads_from_env(),
        )
        logger.info(
            "CRNNPredictor: %s on %s (pid %d)", self.recognizer.backend, self.recognizer.device, os.getpid()
        )

    def predict(self, values: Any) -> list[Prediction]:
        """One :class:`~crnn_plugin.Prediction` per cell of ``values``, in order; never raises for
        a bad cell (its Prediction has ``error`` set)."""
        from .recognizer import Prediction

        items: list[Any] = []
        out: list[Prediction | None] = []
        for i, value in enumerate(values):
            try:
                items.append(_as_input(value))
                out.append(None)
            except Exception as e:  # noqa: BLE001 - a bad cell is an error row
                out.append(Prediction("", 0.0, error=f"row {i}: {type(e).__name__}: {e}"))
        todo = [i for i, p in enumerate(out) if p is None]
        try:
            preds = self.recognizer(items, beam_width=self.beam_width) if items else []
        except Exception:  # noqa: BLE001 - should not happen (the Recognizer returns error rows)
            logger.exception("batch call failed; reading its %d images one by one", len(items))
            preds = [self._one(x) for x in items]
        for i, p in zip(todo, preds):
            out[i] = p
        return [p for p in out if p is not None]

    def _one(self, item: Any) -> Prediction:
        from .recognizer import Prediction

        try:
            return self.recognizer([item], beam_width=self.beam_width)[0]
        except Exception as e:  # noqa: BLE001
            return Prediction("", 0.0, error=f"{type(e).__name__}: {e}")

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """A batch (``dict`` of column arrays, Ray's default and ``"numpy"`` formats, or a pandas
        DataFrame) in; the same rows with ``text`` (str), ``confidence`` (float32) and ``error``
        (str or None) columns out."""
        if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # a pandas DataFrame
            batch = {c: batch[c].to_numpy() for c in batch.columns}
        if self.column not in batch:
            raise KeyError(
                f"CRNNPredictor: no column {self.column!r} in the batch (columns: {sorted(batch)})"
            )
        preds = self.predict(batch[self.column])
        out: dict[str, Any] = {k: v for k, v in batch.items() if self.keep_input or k != self.column}
        out["text"] = np.array([p.text for p in preds], dtype=object)
        out["confidence"] = np.array([p.confidence for p in preds], dtype=np.float32)
        out["error"] = np.array([p.error for p in preds], dtype=object)
        return out


def recognize_dataset(
    dataset: Any,
    *,
    column: str = "image",
    actors: int = 1,
    batch_size: int = 256,
    num_gpus: float = 0,
    num_cpus: float = 1,
    predictor: type[CRNNPredictor] | None = None,
    **predictor_kwargs: Any,
) -> Any:
    """``dataset.map_batches(CRNNPredictor, ...)`` on a pool of ``actors`` actors, each with
    ``num_cpus`` CPUs (ONNX Runtime threads) and ``num_gpus`` GPUs, reading ``batch_size`` rows per
    call; ``predictor_kwargs`` go to :class:`CRNNPredictor` (or to ``predictor``, a subclass of
    it). Lazy, like every Ray Data transform.

    An actor that dies is restarted and its batch retried: Ray Data's actor pools default to
    ``max_restarts=-1`` and ``max_task_retries=-1`` (``tests/test_ray_data.py`` kills an actor to
    check it). They are not passed here: Ray 2.60 deprecates ``map_batches(**ray_remote_args)``.
    """
    import ray.data

    return dataset.map_batches(
        predictor or CRNNPredictor,
        fn_constructor_kwargs={"column": column, **predictor_kwargs},
        compute=ray.data.ActorPoolStrategy(size=actors),
        batch_size=batch_size,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        batch_format="numpy",
    )
