"""Accuracy on labelled folders under the field's protocols: scene words (36-class and
case-sensitive), documents (exact and docTR's ASCII-folded caseless "partial") and lines (caseless
exact line match and character error rate)."""

from __future__ import annotations

import json
import re
import time
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz.distance import Levenshtein

from .errors import DatasetError
from .vocab import normalize_spaces

if TYPE_CHECKING:
    from .lexicon import Lexicon
    from .recognizer import Recognizer

__all__ = [
    "normalize36",
    "normalize_line",
    "ascii_fold",
    "EvalResult",
    "LabelledSet",
    "read_labelled",
    "evaluate_folder",
    "format_table",
]

_NOT36 = re.compile(r"[^a-z0-9]")
#: Latin letters and punctuation that NFKD does not decompose, folded as anyascii (docTR) does.
_FOLD = str.maketrans(
    {
        "ß": "ss", "Æ": "Ae", "æ": "ae", "Œ": "Oe", "œ": "oe", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
        "Đ": "D", "đ": "d", "Þ": "Th", "þ": "th", "ı": "i", "‘": "'", "’": "'", "‚": "'", "′": "'",
        "“": '"', "”": '"', "„": '"', "″": "''", "‐": "-", "‑": "-", "–": "-", "—": "-", "―": "-",
        "−": "-", "⁄": "/",
    }
)  # fmt: skip


def normalize36(text: str) -> str:
    """The 36-class protocol: lower-case, keep only a-z and 0-9."""
    return _NOT36.sub("", text.lower())


def normalize_line(text: str) -> str:
    """The line protocol: single spaces between words, none at the ends, case-folded."""
    return normalize_spaces(text).casefold()


def ascii_fold(text: str) -> str:
    """Accents dropped (NFKD) and the other Latin letters and quotes/dashes spelled in ASCII, like
    docTR's ``anyascii``; characters with no ASCII spelling are kept.

    >>> ascii_fold("Straße café – “ok”")
    'Strasse cafe - "ok"'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_FOLD)


def _partial(text: str) -> str:
    """docTR's "partial" match key: ASCII-folded and lower-cased (spaces normalised)."""
    return normalize_spaces(ascii_fold(text)).lower()


@dataclass
class EvalResult:
    """Scores of one folder (fractions in [0, 1]), lexicon-free unless in ``acc36_lexicon``.

    ``acc36``: 36-class word accuracy. ``acc_cs``: exact match, case-sensitive with punctuation
    (docTR's "exact"; None when the labels have no case). ``acc_partial``: exact match after ASCII
    folding and lower-casing (docTR's "partial"). ``acc_line``: caseless exact line match.
    ``cer``: character error rate, caseless (summed edits / summed label length). Every string is
    compared with single spaces between words, none at the ends. ``spaced_words``: readings with a
    space whose label has none (on word crops, e.g. docTR's, a space is a bug to count).
    """

    name: str
    n: int
    acc36: float
    acc_cs: float | None
    seconds: float
    acc36_lexicon: dict[str, float] = field(default_factory=dict)
    predictions: list[dict[str, object]] = field(default_factory=list, repr=False)
    acc_partial: float = 0.0
    acc_line: float = 0.0
    cer: float = 0.0
    spaced_words: int = 0

    def summary(self) -> dict[str, object]:
        """The scores as a JSON-ready dict (no predictions)."""
        return {
            "dataset": self.name,
            "images": self.n,
            "acc36": self.acc36,
            "acc36_lexicon": dict(self.acc36_lexicon),
            "acc_cs": self.acc_cs,
            "acc_partial": self.acc_partial,
            "acc_line": self.acc_line,
            "cer": self.cer,
            "spaced_words": self.spaced_words,
            "seconds": self.seconds,
        }


@dataclass
class LabelledSet:
    """The crops of one benchmark, in its order: ``names[i]`` (a path relative to ``root``, a docTR
    file name or an LMDB key), what to recognise (a file path or encoded bytes) and its label."""

    root: Path
    names: list[str]
    inputs: list[Path | bytes]
    labels: list[str]
    cs_labels: list[str] | None  # case-sensitive labels, when the benchmark has them


def read_labelled(folder: str | Path, *, limit: int | None = None) -> LabelledSet:
    """Open a benchmark in any layout the training pipeline reads, detected from its files.

    - ``labels.tsv`` (``path<TAB>label``), with ``labels_casesensitive.tsv`` beside it if present;
    - docTR's recognition layout: ``images/`` and ``labels.json`` (``{file name: label}``);
    - the LMDB layout of the scene-text benchmarks (``data.mdb``: ``num-samples``, ``image-%09d``,
      ``label-%09d``; needs ``lmdb``, in the ``train`` extra).

    Every crop counts: nothing is filtered out. Case-sensitive labels are the labels themselves
    when they contain lower-case letters. Raises :class:`DatasetError` naming the folder or file.
    """
    root = Path(folder)
    try:
        if (root / "labels.tsv").is_file():
            return _read_tsv(root, limit)
        if (root / "labels.json").is_file() and (root / "images").is_dir():
            return _read_doctr(root, limit)
        if (root / "data.mdb").is_file():
            return _read_lmdb(root, limit)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"{root}: cannot read the labels: {e}") from e
    what = "does not exist" if not root.exists() else "has no labels.tsv, labels.json + images/, or data.mdb"
    raise DatasetError(f"{root}: {what}")


def _with_cs(
    root: Path, names: list[str], inputs: list, labels: list[str], all_labels: list[str]
) -> LabelledSet:
    """The labels are case-sensitive when any label of the whole benchmark (not only of the first
    ``limit``) has a lower-case letter."""
    has_lower = any(c.islower() for lab in all_labels for c in lab)
    return LabelledSet(root, names, inputs, labels, list(labels) if has_lower else None)


def _read_tsv(root: Path, limit: int | None) -> LabelledSet:
    from .training.datasets import read_labels_tsv

    all_rows = read_labels_tsv(root / "labels.tsv")
    rows = all_rows[:limit]
    names = [rel for rel, _ in rows]
    cs = _case_sensitive_labels(root, rows, all_rows)
    cs_labels = None if cs is None else [cs[rel] for rel in names]
    return LabelledSet(root, names, [root / rel for rel in names], [lab for _, lab in rows], cs_labels)


def _read_doctr(root: Path, limit: int | None) -> LabelledSet:
    with open(root / "labels.json", encoding="utf-8") as f:
        table = json.load(f)
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise DatasetError(f"{root / 'labels.json'}: expected an object of file name -> label")
    names = sorted(table)[:limit]
    labels = [table[n] for n in names]
    return _with_cs(root, names, [root / "images" / n for n in names], labels, list(table.values()))


def _read_lmdb(root: Path, limit: int | None) -> LabelledSet:
    try:
        import lmdb
    except ImportError as e:
        raise DatasetError(
            f"{root}: an LMDB benchmark needs `lmdb` (pip install 'crnn-plugin[train]')"
        ) from e
    try:
        env = lmdb.open(str(root), readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as e:
        raise DatasetError(f"{root}: cannot open the LMDB: {e}") from e
    try:
        with env.begin() as txn:
            n = int(txn.get(b"num-samples") or b"0")
            names, inputs, all_labels = [], [], []
            for i in range(1, n + 1):
                label = txn.get(b"label-%09d" % i)
                if limit is not None and i > limit:  # beyond the limit: only for the case check
                    if label is not None:
                        all_labels.append(bytes(label).decode("utf-8", errors="replace"))
                    continue
                image = txn.get(b"image-%09d" % i)
                if image is None or label is None:
                    raise DatasetError(f"{root}: num-samples is {n} but sample {i} has no image or label")
                all_labels.append(bytes(label).decode("utf-8"))
                names.append(f"image-{i:09d}")
                inputs.append(bytes(image))
    except lmdb.Error as e:
        raise DatasetError(f"{root}: cannot read the LMDB: {e}") from e
    finally:
        env.close()
    return _with_cs(root, names, inputs, all_labels[: len(names)], all_labels)


def evaluate_folder(
    recognizer: Recognizer,
    folder: str | Path,
    *,
    limit: int | None = None,
    lexicons: Sequence[str | Lexicon] = (),
    keep_predictions: bool = False,
    min_ratio: float | None = None,
) -> EvalResult:
    """Recognise every crop of a benchmark (any layout of :func:`read_labelled`) and score it.

    Every protocol of :class:`EvalResult` is scored on every folder (words and lines alike).
    Case-sensitive accuracy uses ``labels_casesensitive.tsv`` when present, else the labels
    themselves if they contain lower-case letters. ``lexicons`` may name ``"per-image"`` (uses the
    folder's ``lexicon50.tsv``) or any lexicon accepted by the recognizer, or be loaded
    :class:`~crnn_plugin.Lexicon` objects (row named after ``Lexicon.name``; load a big list once
    for several folders); with ``min_ratio`` each is also scored open-vocabulary (row
    ``"NAME, open R"``, see :class:`~crnn_plugin.Lexicon`).
    With ``keep_predictions``, each row has the lexicon-free reading, ``edits`` (its caseless
    character edits from the label, as in the CER) and ``lexicon``: the reading under each lexicon
    row.
    """
    data = read_labelled(folder, limit=limit)
    root, labels = data.root, data.labels
    t0 = time.perf_counter()
    preds = recognizer(data.inputs)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    n = len(labels)
    texts = [p.text for p in preds]
    ok36 = sum(normalize36(t) == normalize36(lab) for t, lab in zip(texts, labels))
    ok_cs = None
    if data.cs_labels is not None:
        same = sum(normalize_spaces(t) == normalize_spaces(lab) for t, lab in zip(texts, data.cs_labels))
        ok_cs = same / max(n, 1)
    lines = [(normalize_line(t), normalize_line(lab)) for t, lab in zip(texts, labels)]
    edits = [Levenshtein.distance(t, lab) for t, lab in lines]
    res = EvalResult(
        root.name,
        n,
        ok36 / max(n, 1),
        ok_cs,
        seconds,
        acc_partial=sum(_partial(t) == _partial(lab) for t, lab in zip(texts, labels)) / max(n, 1),
        acc_line=sum(t == lab for t, lab in lines) / max(n, 1),
        cer=sum(edits) / max(sum(len(lab) for _, lab in lines), 1),
        spaced_words=spaced_words(texts, labels),
    )
    by_lexicon: dict[str, list[str]] = {}
    for lex in lexicons:
        if lex == "per-image" and not (root / "lexicon50.tsv").is_file():
            continue  # this folder has no per-image lexicons: shown as "-"
        for ratio in (None,) if min_ratio is None else (None, min_ratio):
            lex_preds = _lexicon_predictions(recognizer, data, lex, ratio)
            name = lex if isinstance(lex, str) else lex.name
            key = name if ratio is None else f"{name}, open {ratio:g}"
            res.acc36_lexicon[key] = sum(
                normalize36(p.text) == normalize36(lab) for p, lab in zip(lex_preds, labels)
            ) / max(n, 1)
            by_lexicon[key] = [p.text for p in lex_preds]
    if keep_predictions:
        res.predictions = [
            {
                "path": str(x) if isinstance(x, Path) else f"{root}:{name}",
                "label": lab,
                "text": p.text,
                "confidence": round(p.confidence, 4),
                "edits": edits[i],
                **({"error": p.error} if p.error else {}),
                **({"lexicon": {k: texts[i] for k, texts in by_lexicon.items()}} if by_lexicon else {}),
            }
            for i, (name, x, p, lab) in enumerate(zip(data.names, data.inputs, preds, labels))
        ]
    return res


def spaced_words(texts: Sequence[str], labels: Sequence[str]) -> int:
    """How many readings contain a space where their label has none."""
    return sum(" " in t.strip() and " " not in lab.strip() for t, lab in zip(texts, labels, strict=True))


def _case_sensitive_labels(
    root: Path, rows: list[tuple[str, str]], all_rows: list[tuple[str, str]]
) -> dict[str, str] | None:
    """Case-sensitive label of every crop in ``rows``, matched by path, or None when there are none.

    From ``labels_casesensitive.tsv`` when present (its order need not match ``labels.tsv``), else
    from ``labels.tsv`` itself if its labels contain lower-case letters.
    """
    from .training.datasets import read_labels_tsv

    cs_path = root / "labels_casesensitive.tsv"
    if not cs_path.is_file():
        return dict(rows) if any(c.islower() for _, lab in all_rows for c in lab) else None
    table = dict(read_labels_tsv(cs_path))
    missing = [rel for rel, _ in rows if rel not in table]
    if missing:
        warnings.warn(
            f"{cs_path}: no label for {len(missing)} of the {len(rows)} crops of labels.tsv "
            f"(first: {missing[0]!r}); case-sensitive accuracy is not reported",
            stacklevel=4,
        )
        return None
    return table


def _lexicon_predictions(
    recognizer: Recognizer, data: LabelledSet, lex: str | Lexicon, min_ratio: float | None = None
) -> list:
    """Readings under ``lex``: as given (``min_ratio`` None; a name or file is closed) or open."""
    from .lexicon import Lexicon, read_lexicon_tsv

    if lex == "per-image":
        table = read_lexicon_tsv(data.root / "lexicon50.tsv")
        lexs = [Lexicon(table[r], min_ratio=min_ratio) if table.get(r) else None for r in data.names]
        return recognizer(data.inputs, lexicon=lexs)  # type: ignore[arg-type]
    if isinstance(lex, Lexicon):
        lexicon = lex if min_ratio is None else lex.with_min_ratio(min_ratio)
    else:
        lexicon = Lexicon.load(lex, min_ratio=min_ratio)
    return recognizer(data.inputs, lexicon=lexicon)  # type: ignore[arg-type]


def format_table(results: Sequence[EvalResult]) -> str:
    """Markdown table in the layout of the paper's Table 2 (one column per dataset), then the
    document and line protocols (percentages; CER lower is better)."""
    names = [r.name for r in results]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines.append("| images | " + " | ".join(str(r.n) for r in results) + " |")
    lines.append("| 36-class, lexicon-free | " + " | ".join(f"{100 * r.acc36:.1f}" for r in results) + " |")
    lexs = sorted({k for r in results for k in r.acc36_lexicon})
    for k in lexs:
        vals = [f"{100 * r.acc36_lexicon[k]:.1f}" if k in r.acc36_lexicon else "-" for r in results]
        lines.append(f"| 36-class, lexicon {k} | " + " | ".join(vals) + " |")
    lines.append(
        "| case-sensitive, lexicon-free | "
        + " | ".join(f"{100 * r.acc_cs:.1f}" if r.acc_cs is not None else "-" for r in results)
        + " |"
    )
    lines.append("| partial (ASCII-folded, caseless), lexicon-free | " + _row(results, "acc_partial"))
    lines.append("| line (caseless exact), lexicon-free | " + _row(results, "acc_line"))
    lines.append("| CER % (caseless), lexicon-free | " + _row(results, "cer", digits=2))
    lines.append(
        "| readings with a space, label without | " + " | ".join(str(r.spaced_words) for r in results) + " |"
    )
    lines.append("| crops/s | " + " | ".join(f"{r.n / max(r.seconds, 1e-9):.0f}" for r in results) + " |")
    return "\n".join(lines)


def _row(results: Sequence[EvalResult], attr: str, *, digits: int = 1) -> str:
    return " | ".join(f"{100 * getattr(r, attr):.{digits}f}" for r in results) + " |"


def write_predictions(results: Sequence[EvalResult], path: str | Path) -> None:
    """Per-sample predictions of every folder as JSON lines."""
    with open(path, "w", encoding="utf-8") as f:
        for r in results:
            for row in r.predictions:
                f.write(json.dumps({"dataset": r.name, **row}, ensure_ascii=False) + "\n")
