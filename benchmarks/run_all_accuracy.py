"""The accuracy section of the benchmark report: every set side by side, and case-sensitive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench_common import SETS
from run_all_names import ACC_PEERS, LABELS, SET_NAMES


def _acc_rows(res: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(peer, result-key suffix, label suffix) of every accuracy row: ours in each precision, peers."""
    ours = res["workers"].get("ours") or {}
    acc = ours.get("accuracy") or {}
    first = res["sets"][0]
    rows: list[tuple[str, str, str]] = [("ours", "", "")]
    if acc.get(first + "@torch"):
        rows.append(("ours", "@torch", f" (PyTorch {ours['info'].get('torch_precision')})"))
    if acc.get(first + "@fp32"):
        rows.append(("ours", "@fp32", " (fp32)"))
    return rows + [(p, "", "") for p in ACC_PEERS]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _accuracy_tables(add: Callable[[str], None], res: dict[str, Any]) -> None:
    """The accuracy table (every set side by side) and the case-sensitive one."""
    sets: list[str] = res["sets"]
    w = res["workers"]
    ours = w.get("ours") or {}
    sizes: dict[str, int] = {}
    for rep in w.values():
        for s in sets:
            r = ((rep or {}).get("accuracy") or {}).get(s)
            if r:
                sizes.setdefault(s, r["n"])
    words = [s for s in sets if SETS[s] == "word"]
    lines = [s for s in sets if SETS[s] == "line"]
    add("## Accuracy\n")
    add(
        "Word sets: 36-class protocol (lower-case, keep only a-z0-9, exact match). Line sets: caseless "
        'exact line match with single spaces (`" ".join(s.split()).casefold()` on both sides) and '
        "character error rate (summed Levenshtein edits / summed reference length, same normalisation; "
        "lower is better). No lexicon. Tesseract reads word crops with psm 8 (single word) and line "
        "crops with psm 7 (single line); RapidOCR and EasyOCR run their recognizer alone on the whole "
        "crop (no detection).\n"
    )
    head = [f"{SET_NAMES[s]} ({sizes.get(s, '?')}) 36-class" for s in words]
    for s in lines:
        head += [
            f"{SET_NAMES[s]} ({sizes.get(s, '?')}) line acc.",
            f"{SET_NAMES[s]} ({sizes.get(s, '?')}) CER",
        ]
    add("| recognizer | " + " | ".join(head) + " | model / version |")
    add("| --- | " + " | ".join("---" for _ in head) + " | --- |")
    tprec = ours.get("info", {}).get("torch_precision")
    cs_rows: list[str] = []
    for peer, suffix, label_extra in _acc_rows(res):
        rep = w.get(peer)
        if not rep or "accuracy" not in rep:
            why = "not run" if peer not in w else "failed"
            add(f"| {LABELS[peer]}{label_extra} | " + " | ".join(why for _ in head) + " | see notes |")
            cs_rows.append(f"| {LABELS[peer]}{label_extra} | " + " | ".join(why for _ in words) + " |")
            continue
        a = rep["accuracy"]
        cells: list[str] = []
        cs_cells: list[str] = []
        for s in words:
            r = a.get(s + suffix)
            cells.append(f"{_pct(r['acc36'])} ({r['correct']})" if r else "n/a")
            cs_cells.append(
                f"{_pct(r['acc_cs'])} ({r['correct_cs']})" if r and r["acc_cs"] is not None else "n/a"
            )
        for s in lines:
            r = a.get(s + suffix)
            cells += [f"{_pct(r['acc_line'])} ({r['correct_line']})", _pct(r["cer"])] if r else ["n/a", "n/a"]
        prec = ""
        if peer == "ours":
            prec = {"": f"; {rep['info'].get('default_precision', '?')} (default)", "@fp32": "; fp32"}.get(
                suffix, f"; PyTorch {tprec}"
            )
        add(f"| {LABELS[peer]}{label_extra} | " + " | ".join(cells) + f" | {rep['info']['model']}{prec} |")
        cs_rows.append(f"| {LABELS[peer]}{label_extra} | " + " | ".join(cs_cells) + " |")
    if words:
        add(
            "\nCase-sensitive word accuracy: exact match with case and punctuation kept (single spaces), "
            "against `labels_casesensitive.tsv` (IIIT5K, SVT: Long & Yao's re-annotation) or the labels "
            "themselves where they are case-sensitive (SVT-P); as `crnn_plugin.evaluate` scores it. A "
            "recognizer without lower-case letters cannot score here.\n"
        )
        add("| recognizer | " + " | ".join(f"{SET_NAMES[s]} case-sensitive" for s in words) + " |")
        add("| --- | " + " | ".join("---" for _ in words) + " |")
        for row in cs_rows:
            add(row)
    if lines and ours.get("info", {}).get("space_in_vocab") is False:
        add(
            f"\nOur model `{res['model']}` has no space class: it reads a line as one run of characters, "
            "so its exact line match counts only one-word lines; its CER counts each missing space as "
            "one edit."
        )
    add("\ndocTR models: speed only (their weights cannot be downloaded here; random weights).\n")
