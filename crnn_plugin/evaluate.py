"""Word accuracy on labelled folders, under the literature's 36-class protocol and case-sensitive."""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .recognizer import Recognizer

__all__ = ["normalize36", "EvalResult", "evaluate_folder", "format_table"]

_NOT36 = re.compile(r"[^a-z0-9]")


def normalize36(text: str) -> str:
    """The 36-class protocol: lower-case, keep only a-z and 0-9."""
    return _NOT36.sub("", text.lower())


@dataclass
class EvalResult:
    """Accuracy of one folder (fractions in [0, 1])."""

    name: str
    n: int
    acc36: float
    acc_cs: float | None
    seconds: float
    acc36_lexicon: dict[str, float] = field(default_factory=dict)
    predictions: list[dict[str, object]] = field(default_factory=list, repr=False)


def evaluate_folder(
    recognizer: Recognizer,
    folder: str | Path,
    *,
    limit: int | None = None,
    lexicons: Sequence[str] = (),
    keep_predictions: bool = False,
    min_ratio: float | None = None,
) -> EvalResult:
    """Recognise every crop of ``folder/labels.tsv`` and score it.

    Case-sensitive accuracy uses ``labels_casesensitive.tsv`` when present, else ``labels.tsv``
    (if those labels contain lower-case letters). ``lexicons`` may name ``"per-image"`` (uses the
    folder's ``lexicon50.tsv``) or any lexicon accepted by the recognizer; with ``min_ratio`` each
    is also scored open-vocabulary (row ``"NAME, open R"``, see :class:`~crnn_plugin.Lexicon`).
    """
    from .training.datasets import read_labels_tsv

    root = Path(folder)
    rows = read_labels_tsv(root / "labels.tsv")
    if limit is not None:
        rows = rows[:limit]
    cs_labels = _case_sensitive_labels(root, rows)
    paths = [root / rel for rel, _ in rows]
    t0 = time.perf_counter()
    preds = recognizer(paths)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    n = len(rows)
    ok36 = sum(normalize36(p.text) == normalize36(lab) for p, (_, lab) in zip(preds, rows))
    ok_cs = None
    if cs_labels is not None:
        ok_cs = sum(p.text == cs_labels[rel] for p, (rel, _) in zip(preds, rows)) / max(n, 1)
    res = EvalResult(root.name, n, ok36 / max(n, 1), ok_cs, seconds)
    for lex in lexicons:
        if lex == "per-image" and not (root / "lexicon50.tsv").is_file():
            continue  # this folder has no per-image lexicons: shown as "-"
        for ratio in (None,) if min_ratio is None else (None, min_ratio):
            lex_preds = _lexicon_predictions(recognizer, root, paths, lex, ratio)
            key = lex if ratio is None else f"{lex}, open {ratio:g}"
            res.acc36_lexicon[key] = sum(
                normalize36(p.text) == normalize36(lab) for p, (_, lab) in zip(lex_preds, rows)
            ) / max(n, 1)
    if keep_predictions:
        res.predictions = [
            {
                "path": str(p_),
                "label": lab,
                "text": p.text,
                "confidence": round(p.confidence, 4),
                **({"error": p.error} if p.error else {}),
            }
            for p_, p, (_, lab) in zip(paths, preds, rows)
        ]
    return res


def _case_sensitive_labels(root: Path, rows: list[tuple[str, str]]) -> dict[str, str] | None:
    """Case-sensitive label of every crop in ``rows``, matched by path, or None when there are none.

    From ``labels_casesensitive.tsv`` when present (its order need not match ``labels.tsv``), else
    from ``labels.tsv`` itself if its labels contain lower-case letters.
    """
    from .training.datasets import read_labels_tsv

    cs_path = root / "labels_casesensitive.tsv"
    if not cs_path.is_file():
        return dict(rows) if any(c.islower() for _, lab in rows for c in lab) else None
    table = dict(read_labels_tsv(cs_path))
    missing = [rel for rel, _ in rows if rel not in table]
    if missing:
        warnings.warn(
            f"{cs_path}: no label for {len(missing)} of the {len(rows)} crops of labels.tsv "
            f"(first: {missing[0]!r}); case-sensitive accuracy is not reported",
            stacklevel=3,
        )
        return None
    return table


def _lexicon_predictions(
    recognizer: Recognizer, root: Path, paths: list[Path], lex: str, min_ratio: float | None = None
) -> list:
    from .lexicon import Lexicon, read_lexicon_tsv

    if lex == "per-image":
        table = read_lexicon_tsv(root / "lexicon50.tsv")
        rels = [str(p.relative_to(root)) for p in paths]
        lexs = [Lexicon(table[r], min_ratio=min_ratio) if table.get(r) else None for r in rels]
        return recognizer(paths, lexicon=lexs)  # type: ignore[arg-type]
    return recognizer(paths, lexicon=Lexicon.load(lex, min_ratio=min_ratio))  # type: ignore[arg-type]


def format_table(results: Sequence[EvalResult]) -> str:
    """Markdown table in the layout of the paper's Table 2 (one column per dataset)."""
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
    lines.append("| crops/s | " + " | ".join(f"{r.n / max(r.seconds, 1e-9):.0f}" for r in results) + " |")
    return "\n".join(lines)


def write_predictions(results: Sequence[EvalResult], path: str | Path) -> None:
    """Per-sample predictions of every folder as JSON lines."""
    with open(path, "w", encoding="utf-8") as f:
        for r in results:
            for row in r.predictions:
                f.write(json.dumps({"dataset": r.name, **row}, ensure_ascii=False) + "\n")
