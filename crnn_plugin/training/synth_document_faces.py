"""Document typefaces: the installed fonts grouped by the faces of forms and receipts.

Fonts are classified by keywords of their family and file names (serif, sans, monospace,
typewriter, condensed, bold, italic); decorative and hairline fonts are left out. Small caps
are synthesised by the renderer from a regular serif or sans font.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Sequence

from .fonts import FontInfo

__all__ = ["FACES", "FacePicker", "classify"]

#: Faces a sample is drawn in, with their relative weights.
FACES: dict[str, float] = {
    "serif": 0.22,
    "sans": 0.22,
    "mono": 0.09,
    "typewriter": 0.11,
    "condensed": 0.08,
    "bold": 0.12,
    "italic": 0.08,
    "smallcaps": 0.04,
    "any": 0.04,
}

_DECORATIVE = re.compile(
    r"\bbrk\b|aenigma|lobster|dancing|script|z003|chancery|nushu|comfortaa|quicksand|jura|"
    r"yanone|spartan|comic|display|retina",
    re.IGNORECASE,
)
_HAIRLINE = re.compile(r"thin|hairline|extra ?light|ultra ?light", re.IGNORECASE)
_SANS = re.compile(r"sans|biolinum|gothic|arimo|carlito|helvet|arial", re.IGNORECASE)
_SERIF = re.compile(
    r"serif|roman|times|tinos|caladea|garamond|libertine|bookman|c059|p052|schoolbook|"
    r"palatino|georgia|century|termes|pagella|bonum|cambria",
    re.IGNORECASE,
)
_MONO = re.compile(r"mono|courier|cousine|inconsolata|hack|code|anonymous|typewriter|consol", re.IGNORECASE)
_TYPEWRITER = re.compile(
    r"freemono|nimbus ?mono|courier|cousine|liberation ?mono|typewriter|prestige|elite", re.IGNORECASE
)
_CONDENSED = re.compile(r"condensed|narrow|\bcond|compressed", re.IGNORECASE)
_BOLD = re.compile(r"bold|black|heavy|demi|\bbd\b|\bb\b|\brb", re.IGNORECASE)
_ITALIC = re.compile(r"italic|oblique|\bita\b|\bi\b|\bbi\b|\brbi\b|\bri\b|\brzi\b", re.IGNORECASE)


def _name(font: FontInfo) -> str:
    """Family and file stem, camel case and separators split into words."""
    stem = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", font.path.stem)
    return re.sub(r"[-_]+", " ", f"{font.family} {stem}")


def classify(font: FontInfo) -> frozenset[str]:
    """Faces ``font`` can stand for (empty for decorative and hairline fonts)."""
    name = _name(font)
    if _DECORATIVE.search(name) or _DECORATIVE.search(str(font.path.parent)) or _HAIRLINE.search(name):
        return frozenset()
    faces = {"any"}
    bold, italic = bool(_BOLD.search(name)), bool(_ITALIC.search(name))
    condensed = bool(_CONDENSED.search(name))
    if _MONO.search(name):
        base = "mono"
    elif _SERIF.search(name) and not _SANS.search(name):
        base = "serif"
    else:
        base = "sans"
    if italic:
        faces.add("italic")
    elif bold:
        faces.add("bold")
    if not italic:
        if condensed:
            faces.add("condensed")
        if base == "mono":
            faces.add("mono")
            if _TYPEWRITER.search(name):
                faces.add("typewriter")
        elif not bold and not condensed:
            faces.update((base, "smallcaps"))
    return frozenset(faces)


class FacePicker:
    """Draws a font of a face covering a text; families of a face weigh the same.

    Args:
        fonts: candidate fonts (any order); a face without fonts falls back to ``"any"``,
            and that to all fonts.
    """

    def __init__(self, fonts: Sequence[FontInfo]) -> None:
        if not fonts:
            raise ValueError("no fonts")
        self.fonts = list(fonts)
        self._cover = [f.charset - f.ambiguous for f in self.fonts]
        members: dict[str, list[int]] = {face: [] for face in FACES}
        for i, f in enumerate(self.fonts):
            for face in classify(f):
                members[face].append(i)
        if not members["any"]:
            members["any"] = list(range(len(self.fonts)))
        self._members = {face: idx for face, idx in members.items() if idx}
        self._cum = {face: _family_cum(self.fonts, idx) for face, idx in self._members.items()}
        faces = list(self._members)
        self._faces = faces
        self._face_cum = _accumulate([FACES[f] for f in faces])

    def face(self, r: random.Random) -> str:
        """A face name, drawn by the weights of :data:`FACES` (among the faces that have fonts)."""
        return self._faces[bisect.bisect_right(self._face_cum, r.random() * self._face_cum[-1])]

    def pick(self, r: random.Random, face: str, text: str) -> tuple[FontInfo, str]:
        """A font of ``face`` rendering every character of ``text`` faithfully.

        Falls back to any document font, then any font; if none covers ``text`` its uncovered
        characters are dropped. Returns the font and the (possibly shortened) text.
        """
        need = set(text) - {" "}
        for pool in (face, "any"):
            idx, cum = self._members.get(pool), self._cum.get(pool)
            if idx is None or cum is None:
                continue
            for _ in range(6):
                i = idx[bisect.bisect_right(cum, r.random() * cum[-1])]
                if need <= self._cover[i]:
                    return self.fonts[i], text
            covering = [i for i in idx if need <= self._cover[i]]
            if covering:
                return self.fonts[r.choice(covering)], text
        covering = [i for i, cov in enumerate(self._cover) if need <= cov]
        if covering:
            return self.fonts[r.choice(covering)], text
        i = self._members["any"][0]
        kept = " ".join("".join(c for c in w if c in self._cover[i]) for w in text.split())
        return self.fonts[i], " ".join(kept.split())


def _family_cum(fonts: Sequence[FontInfo], idx: Sequence[int], dir_cap: int = 3) -> list[float]:
    """Cumulative weights over ``idx``: families weigh the same, a folder at most ``dir_cap`` families."""
    size: dict[tuple[str, str], int] = {}
    folder_fams: dict[str, set[str]] = {}
    for i in idx:
        key = (str(fonts[i].path.parent), fonts[i].family or fonts[i].path.stem)
        size[key] = size.get(key, 0) + 1
        folder_fams.setdefault(key[0], set()).add(key[1])
    weights = []
    for i in idx:
        key = (str(fonts[i].path.parent), fonts[i].family or fonts[i].path.stem)
        n_fam = len(folder_fams[key[0]])
        weights.append(min(n_fam, dir_cap) / n_fam / size[key])
    return _accumulate(weights)


def _accumulate(weights: Sequence[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out
