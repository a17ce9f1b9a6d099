"""Labelled word-crop datasets: ``labels.tsv`` folders, docTR folders and scene-text LMDBs.

Every dataset is a sequence of ``(image, label)`` with RGB PIL images, loaded lazily.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ..preprocessing import load_image

__all__ = ["LabelledFolder", "DoctrFolder", "LmdbDataset", "open_dataset", "read_labels_tsv"]

logger = logging.getLogger(__name__)


def read_labels_tsv(path: str | Path) -> list[tuple[str, str]]:
    """``relative/path<TAB>label`` lines of a ``labels.tsv`` (UTF-8); errors name the line."""
    path = Path(path)
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            if "\t" not in line:
                raise ValueError(f"{path}:{lineno}: expected 'path<TAB>label', got {line!r}")
            rel, label = line.split("\t", 1)
            rows.append((rel, label))
    return rows


class _Filtered:
    """Keeps the samples whose label is non-empty and inside ``vocab`` (logs how many were dropped)."""

    items: list[tuple[str, str]]

    def _filter(self, items: list[tuple[str, str]], vocab: str | None, max_len: int, name: str) -> None:
        keep = []
        allowed = set(vocab) if vocab else None
        for key, label in items:
            label = " ".join(label.split())  # line labels: single spaces, none leading or trailing
            if not label or len(label) > max_len:
                continue
            if allowed is not None and not set(label) <= allowed:
                continue
            keep.append((key, label))
        if len(keep) < len(items):
            logger.info(
                "%s: kept %d of %d samples (label empty, too long or outside vocab)",
                name,
                len(keep),
                len(items),
            )
        self.items = keep

    def __len__(self) -> int:
        return len(self.items)

    def label(self, index: int) -> str:
        return self.items[index][1]


class LabelledFolder(_Filtered):
    """A folder with ``labels.tsv`` (or another labels file, e.g. ``labels_casesensitive.tsv``)."""

    def __init__(
        self, root: str | Path, *, labels: str = "labels.tsv", vocab: str | None = None, max_len: int = 40
    ) -> None:
        self.root = Path(root)
        self._filter(read_labels_tsv(self.root / labels), vocab, max_len, str(self.root))

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        rel, label = self.items[index]
        return load_image(self.root / rel), label


class DoctrFolder(_Filtered):
    """docTR's recognition layout: ``images/`` and ``labels.json`` mapping file name to label."""

    def __init__(self, root: str | Path, *, vocab: str | None = None, max_len: int = 40) -> None:
        self.root = Path(root)
        with open(self.root / "labels.json", encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f"{self.root / 'labels.json'}: expected an object of name -> label")
        self._filter(sorted(data.items()), vocab, max_len, str(self.root))

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        name, label = self.items[index]
        return load_image(self.root / "images" / name), label


class LmdbDataset(_Filtered):
    """The scene-text benchmark LMDB layout: ``num-samples``, ``image-%09d``, ``label-%09d``."""

    def __init__(self, root: str | Path, *, vocab: str | None = None, max_len: int = 40) -> None:
        import lmdb  # optional dependency of the training extra

        self.root = Path(root)
        self._env: object | None = None
        env = lmdb.open(str(self.root), readonly=True, lock=False, readahead=False, meminit=False)
        with env.begin() as txn:
            n = int(txn.get(b"num-samples") or b"0")
            items = [(str(i), (txn.get(b"label-%09d" % i) or b"").decode("utf-8")) for i in range(1, n + 1)]
        env.close()
        self._filter(items, vocab, max_len, str(self.root))

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        import lmdb

        if self._env is None:  # opened lazily so that each worker process has its own handle
            self._env = lmdb.open(str(self.root), readonly=True, lock=False, readahead=False, meminit=False)
        key, label = self.items[index]
        with self._env.begin() as txn:  # type: ignore[attr-defined]
            data = txn.get(b"image-%09d" % int(key))
        return load_image(io.BytesIO(data).getvalue(), name=f"{self.root}:image-{int(key):09d}"), label


def open_dataset(
    path: str | Path, *, labels: str | None = None, vocab: str | None = None, max_len: int = 40
) -> Sequence[tuple[Image.Image, str]]:
    """Open a dataset folder, detecting its layout (LMDB, docTR or ``labels.tsv``)."""
    root = Path(path)
    if (root / "data.mdb").is_file():
        return LmdbDataset(root, vocab=vocab, max_len=max_len)  # type: ignore[return-value]
    if (root / "labels.json").is_file() and (root / "images").is_dir():
        return DoctrFolder(root, vocab=vocab, max_len=max_len)  # type: ignore[return-value]
    if labels is None:
        labels = "labels.tsv"
    if (root / labels).is_file():
        return LabelledFolder(root, labels=labels, vocab=vocab, max_len=max_len)  # type: ignore[return-value]
    raise FileNotFoundError(f"{root}: no data.mdb, labels.json + images/, or {labels} found")
