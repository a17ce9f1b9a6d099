"""Case recovery for case-folded line labels (SROIE receipts) from a teacher's reading.

SROIE's labels are upper case whatever the ink, so they are trained caseless and teach no case at
all; a model trained on a large share of them drifts to whatever case the synthetic data prefers.
Where a teacher model reads a line exactly up to case, its reading carries the ink's case, except
for letters whose two cases have the same shape (``c o s u v w x z``), which a recognizer guesses
from the neighbouring glyphs and often gets wrong (``GsT``, ``cHANGE``). :func:`recase_line` keeps
the teacher's case where the shapes decide it, fixes the look-alike letters from the letters of
the same word (then of the line), and gives up (``None``: keep the line caseless) where nothing
decides.
"""

from __future__ import annotations

import re

__all__ = ["LOOKALIKE_LETTERS", "recase_line"]

LOOKALIKE_LETTERS = frozenset("cosuvwxz")
_RUN = re.compile(r"[A-Za-z]+")


def _decided(letters: str) -> list[str]:
    return [ch for ch in letters if ch.lower() not in LOOKALIKE_LETTERS]


def _case_of(letters: list[str]) -> str | None:
    """``"upper"``, ``"lower"`` or ``None`` (none, or mixed) for the case-deciding letters."""
    if not letters:
        return None
    if all(ch.isupper() for ch in letters):
        return "upper"
    if all(ch.islower() for ch in letters):
        return "lower"
    return None


def recase_line(teacher: str, label: str) -> str | None:
    """The label in the ink's case, from ``teacher`` (a reading of the same crop), or ``None``.

    ``None`` when the reading differs from the label beyond case, or when a word's case is not
    decided by its own letters nor by the line's. The case of a word comes from its letters after
    the first that have distinct shapes: all upper case gives an upper-case word; all lower case
    keeps the teacher's first letter (``Sales``, ``sales``); mixed (``McDonald``, or a teacher's
    slip like ``TAMaN``) gives ``None``. Words without such letters (``Cs``, ``x``) follow the
    line's other words, or the word's own first letter when it decides.
    """
    if " ".join(teacher.split()).upper() != " ".join(label.split()).upper():
        return None
    teacher = " ".join(teacher.split())
    runs = _RUN.findall(teacher)
    line_case = _case_of(_decided("".join(run[1:] for run in runs)))
    out: list[str] = []
    pos = 0
    for m in _RUN.finditer(teacher):
        out.append(teacher[pos : m.start()])
        run = m.group()
        rest = _decided(run[1:])
        first = _decided(run[0])
        case = _case_of(rest)
        if rest and case is None:
            return None
        if case is None:  # no deciding letter after the first
            if first and first[0].islower():
                case = "lower"
            elif first and line_case == "lower":
                case = "title"
            else:
                case = line_case
        if case is None:
            return None
        if case == "upper":
            if first and first[0].islower():
                return None  # ``tOTAL``: the teacher contradicts itself
            out.append(run.upper())
        elif case == "title":
            out.append(run[0].upper() + run[1:].lower())
        else:
            out.append(run[0] + run[1:].lower())
        pos = m.end()
    out.append(teacher[pos:])
    return "".join(out)
