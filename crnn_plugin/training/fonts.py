"""Font discovery and glyph-coverage filtering for synthetic text rendering."""

from __future__ import annotations

import bisect
import functools
import hashlib
import logging
import math
import os
import re
import string
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["DEFAULT_FONT_DIRS", "FontInfo", "find_fonts"]

logger = logging.getLogger(__name__)

DEFAULT_FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.fonts",
    "~/.local/share/fonts",
)

_FONT_EXTENSIONS = frozenset({".ttf", ".otf", ".ttc", ".otc"})
_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))

# Symbol / icon / barcode / dingbat / non-text fonts (matched on file name and family name).
_BLOCKED_NAME = re.compile(
    r"symbol|dingbat|d050000l|icon|awesome|glyphicon|emoji|barcode|code-?39|code-?128|"
    r"ean-?13|upc-?a|wingding|webding|ornament|music|braille|pictograph|marlett|"
    r"opensymbol|cursor|\bmath\b",
    re.IGNORECASE,
)

# Hand-reviewed decorative fonts whose Latin glyphs are illegible or not plain letters
# (outline-only, pictures, striped, scrambled, or all-caps with unrelated lowercase).
# Matched on file stem (lower case).
# fmt: off
_ILLEGIBLE_STEMS: frozenset[str] = frozenset(
    {
        "1015sn", "1015snr", "3dlet", "8bitlim", "8bitlimo", "8bitlimr", "8blimro", "90stars",
        "bitbttf", "blox2", "chintzys", "circulat", "dashdot", "dystorqu", "encappln", "encapsul",
        "entangle", "entlayrb", "falsepos", "falsposr", "fauxsnow", "fbsbltc", "fbsbltc2",
        "gosebmp2", "gosebmps", "granular", "grapple", "grudge", "grudge2", "hdmaker", "kirbyss",
        "knot", "konecto2", "koneerie", "lineding", "loopy", "lowdown", "lynx", "mima4x4i",
        "mima4x4o", "mobilize", "nucleus", "numskull", "pindown", "pindownp", "pseudo", "queasy",
        "queasyol", "sclnmaze", "sequence", "skullcap", "snailets", "swirled2", "symmetry",
        "tearful", "techniqo", "techniqu", "underwho", "vacantz", "vertigup", "weaver",
        "whatever", "wyvernwi", "wyvernww", "xeroxmal", "zeldadxt", "zerovelo", "zoidal",
    }
)
# fmt: on


@dataclass(frozen=True)
class FontInfo:
    """A usable font file and the printable-ASCII characters its cmap covers.

    ``family`` is a grouping key (typographic family name) used to balance sampling;
    ``ambiguous`` lists lowercase letters drawn like their capitals. Neither takes part in
    equality.
    """

    path: Path
    charset: frozenset[str]
    family: str = field(default="", compare=False)
    # Lowercase letters whose glyph looks like the capital (e.g. a "K"-shaped "k"):
    # renderable, but the rendering would not match a lowercase label.
    ambiguous: frozenset[str] = field(default=frozenset(), compare=False)


def find_fonts(
    dirs: Sequence[str | Path] | None = None,
    *,
    required: str = string.ascii_letters + string.digits,
) -> list[FontInfo]:
    """Return fonts under ``dirs`` covering every char of ``required``, sorted by path.

    Symbol/icon/barcode/dingbat fonts, fonts PIL cannot load, fonts rendering empty or
    identical (tofu) glyphs and all-caps fonts are skipped. The scan is cached per process.
    """
    if dirs is None:
        dirs = DEFAULT_FONT_DIRS
    key = tuple(str(Path(d).expanduser()) for d in dirs)
    fonts = _scan(key)
    req = frozenset(required)
    return [f for f in fonts if req <= f.charset]


@functools.lru_cache(maxsize=8)
def _scan(dirs: tuple[str, ...]) -> tuple[FontInfo, ...]:
    """Scan ``dirs`` for usable text fonts (uncached worker of :func:`find_fonts`)."""
    try:
        import fontTools.ttLib  # noqa: F401  (fail loudly, not font by font)
    except ImportError as exc:
        raise ImportError(
            "find_fonts needs fontTools: pip install fonttools (or run scripts/install_training_deps.sh)"
        ) from exc
    paths = _unique_font_files(dirs)
    fonts: list[FontInfo] = []
    for path in paths:
        try:
            info = _inspect(path)
        except Exception as exc:  # noqa: BLE001 - broken font files are common; skip them
            logger.debug("skipping font %s: %s", path, exc)
            continue
        if info is not None:
            fonts.append(info)
    fonts.sort(key=lambda f: str(f.path))
    logger.info("found %d usable fonts out of %d files in %s", len(fonts), len(paths), dirs)
    return tuple(fonts)


def _unique_font_files(dirs: tuple[str, ...]) -> list[Path]:
    """Font files under ``dirs``, deduplicated by real path and by identical content."""
    by_real: dict[str, Path] = {}
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for root, _subdirs, files in os.walk(d, followlinks=True):
            for name in files:
                if os.path.splitext(name)[1].lower() not in _FONT_EXTENSIONS:
                    continue
                p = os.path.join(root, name)
                real = os.path.realpath(p)
                if os.path.isfile(real) and real not in by_real:
                    by_real[real] = Path(p)
    # Identical files installed twice (e.g. by two packages): hash only size collisions.
    by_size: dict[int, list[str]] = {}
    for real in sorted(by_real):
        by_size.setdefault(os.path.getsize(real), []).append(real)
    keep: list[Path] = []
    for reals in by_size.values():
        if len(reals) == 1:
            keep.append(by_real[reals[0]])
            continue
        seen: set[str] = set()
        for real in reals:
            with open(real, "rb") as fh:
                digest = hashlib.sha1(fh.read()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                keep.append(by_real[real])
    return sorted(keep, key=str)


def _inspect(path: Path) -> FontInfo | None:
    """Return a :class:`FontInfo` for ``path`` or ``None`` if it is not a usable text font."""
    from fontTools.ttLib import TTFont

    stem = path.stem.lower()
    if _BLOCKED_NAME.search(path.name) or stem in _ILLEGIBLE_STEMS:
        return None
    tt = TTFont(str(path), lazy=True, fontNumber=0)
    try:
        family = _family_name(tt)
        if _BLOCKED_NAME.search(family):
            return None
        raw = tt.reader["cmap"]
        if _has_symbol_cmap(raw):
            return None  # Microsoft "symbol" encoding: glyphs are not real letters
        covered = _ascii_coverage(raw)
        if covered is None:  # unusual cmap layout: let fontTools decode it (slower)
            covered = set(tt["cmap"].getBestCmap() or {})
        charset = frozenset(chr(c) for c in covered if 0x20 <= c < 0x7F)
        panose = getattr(tt["OS/2"], "panose", None) if "OS/2" in tt else None
        if panose is not None and panose.bFamilyType == 5:  # Latin pictorial (dingbats)
            return None
    finally:
        tt.close()
    if not set(string.ascii_letters + string.digits) & charset:
        return None
    font = ImageFont.truetype(str(path), 40, layout_engine=ImageFont.Layout.BASIC)
    if not _renders_ok(font, charset):
        return None
    # Drop characters whose glyph is empty (keep the space).
    charset = frozenset(c for c in charset if c == " " or _has_ink(font, c))
    ambiguous = _caps_like_lowercase(font, charset)
    if len(ambiguous) >= 5:
        return None  # essentially a caps font
    return FontInfo(path=path, charset=charset, family=family or path.stem, ambiguous=ambiguous)


_ASCII_CODES = range(0x20, 0x7F)
# Preferred Unicode subtables (platform, encoding), as in fontTools' getBestCmap.
_CMAP_PREFERENCE = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))


def _cmap_records(raw: bytes) -> dict[tuple[int, int], int]:
    """(platform, encoding) -> subtable offset of a raw ``cmap`` table."""
    n = struct.unpack_from(">H", raw, 2)[0]
    recs: dict[tuple[int, int], int] = {}
    for i in range(n):
        plat, enc, off = struct.unpack_from(">HHI", raw, 4 + 8 * i)
        recs.setdefault((plat, enc), off)
    return recs


def _has_symbol_cmap(raw: bytes) -> bool:
    return (3, 0) in _cmap_records(raw)


def _ascii_coverage(raw: bytes) -> set[int] | None:
    """Printable-ASCII code points mapped to a real glyph, parsing only what is needed.

    Returns None when no preferred Unicode subtable in format 0/4/6/12 exists.
    """
    recs = _cmap_records(raw)
    for key in _CMAP_PREFERENCE:
        if key not in recs:
            continue
        off = recs[key]
        fmt = struct.unpack_from(">H", raw, off)[0]
        if fmt == 4:
            seg2 = struct.unpack_from(">H", raw, off + 6)[0]
            seg = seg2 // 2
            ends = struct.unpack_from(f">{seg}H", raw, off + 14)
            starts = struct.unpack_from(f">{seg}H", raw, off + 16 + seg2)
            deltas = struct.unpack_from(f">{seg}h", raw, off + 16 + 2 * seg2)
            ro_pos = off + 16 + 3 * seg2
            ranges = struct.unpack_from(f">{seg}H", raw, ro_pos)
            out = set()
            for c in _ASCII_CODES:
                i = bisect.bisect_left(ends, c)
                if i >= seg or starts[i] > c:
                    continue
                if ranges[i] == 0:
                    gid = (c + deltas[i]) & 0xFFFF
                else:
                    addr = ro_pos + 2 * i + ranges[i] + 2 * (c - starts[i])
                    g = struct.unpack_from(">H", raw, addr)[0]
                    gid = (g + deltas[i]) & 0xFFFF if g else 0
                if gid:
                    out.add(c)
            return out
        if fmt == 12:
            n = struct.unpack_from(">I", raw, off + 12)[0]
            out = set()
            for j in range(n):
                start, end, gid0 = struct.unpack_from(">III", raw, off + 16 + 12 * j)
                if start > 0x7E:
                    break
                for c in range(max(start, 0x20), min(end, 0x7E) + 1):
                    if gid0 + (c - start):
                        out.add(c)
            return out
        if fmt == 0:
            gids = raw[off + 6 : off + 6 + 256]
            return {c for c in _ASCII_CODES if c < len(gids) and gids[c]}
        if fmt == 6:
            first, count = struct.unpack_from(">HH", raw, off + 6)
            gids6 = struct.unpack_from(f">{count}H", raw, off + 10)
            return {c for c in _ASCII_CODES if 0 <= c - first < count and gids6[c - first]}
    return None


def _family_name(tt: object) -> str:
    """Typographic family name (name ID 16, else 1) of a fontTools font, or ''."""
    try:
        name = tt["name"]  # type: ignore[index]
    except Exception:  # noqa: BLE001
        return ""
    for name_id in (16, 1):
        rec = name.getDebugName(name_id)
        if rec:
            return str(rec).strip()
    return ""


def _glyph_mask(font: ImageFont.FreeTypeFont, ch: str) -> np.ndarray | None:
    """Tight-cropped bitmap of one glyph, or None if it renders nothing."""
    bbox = font.getbbox(ch)
    w, h = int(math.ceil(bbox[2] - bbox[0])), int(math.ceil(bbox[3] - bbox[1]))
    if w <= 0 or h <= 0:
        return None
    img = Image.new("L", (w + 4, h + 4), 0)
    ImageDraw.Draw(img).text((2 - bbox[0], 2 - bbox[1]), ch, font=font, fill=255)
    ink = img.getbbox()
    if ink is None:
        return None
    arr = np.asarray(img.crop(ink)) > 96
    return arr if arr.any() else None


def _has_ink(font: ImageFont.FreeTypeFont, ch: str) -> bool:
    bbox = font.getbbox(ch)
    return bbox[2] > bbox[0] and bbox[3] > bbox[1]


def _renders_ok(font: ImageFont.FreeTypeFont, charset: frozenset[str]) -> bool:
    """ "Hag09" renders non-empty, non-tofu glyphs and the lowercase is real lowercase."""
    size = 40
    masks = []
    for ch in "Hag09":
        if ch not in charset:
            continue
        bbox = font.getbbox(ch)
        if bbox[2] <= 0 or bbox[0] < -size // 4 or font.getlength(ch) < size * 0.15:
            return False  # glyph drawn left of the origin or without advance
        m = _glyph_mask(font, ch)
        if m is None:
            return False
        masks.append(m)
    if len(masks) >= 2 and all(m.shape == masks[0].shape and np.array_equal(m, masks[0]) for m in masks[1:]):
        return False  # every glyph is the same box: tofu
    return _has_real_lowercase(font, charset)


def _median_height(font: ImageFont.FreeTypeFont, chars: str) -> float:
    heights = sorted(font.getbbox(c)[3] - font.getbbox(c)[1] for c in chars)
    return float(heights[len(heights) // 2]) if heights else 0.0


def _has_real_lowercase(font: ImageFont.FreeTypeFont, charset: frozenset[str]) -> bool:
    """False for all-caps, small-caps and unicase fonts (lowercase would not match labels).

    Real lowercase has ascenders (b, d, h, k, l) clearly taller than the x-height and an
    x-height clearly below the cap height.
    """
    asc = "".join(c for c in "bdhkl" if c in charset)
    low = "".join(c for c in "acemnorsuvwxz" if c in charset)
    cap = "".join(c for c in "EHIKLNTZ" if c in charset)
    if not (asc and low and cap):
        return True  # no lowercase to check
    xh = _median_height(font, low)
    if xh <= 0:
        return False
    return _median_height(font, asc) / xh >= 1.08 and xh / max(_median_height(font, cap), 1) < 0.95


def _caps_like_lowercase(font: ImageFont.FreeTypeFont, charset: frozenset[str]) -> frozenset[str]:
    """Lowercase letters (with a distinct shape normally) rendered like their capitals."""
    out = set()
    for lo in "bdfghkqty":
        up = lo.upper()
        if lo not in charset or up not in charset:
            continue
        ml, mu = _glyph_mask(font, lo), _glyph_mask(font, up)
        if ml is None or mu is None:
            continue
        if abs(ml.shape[0] - mu.shape[0]) <= 0.1 * mu.shape[0] and _iou(ml, mu) >= 0.86:
            out.add(lo)
    return frozenset(out)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two binary glyph bitmaps after resizing both to 24x24."""
    ia = np.asarray(Image.fromarray(a.astype(np.uint8) * 255).resize((24, 24))) > 127
    ib = np.asarray(Image.fromarray(b.astype(np.uint8) * 255).resize((24, 24))) > 127
    union = int(np.logical_or(ia, ib).sum())
    return float(np.logical_and(ia, ib).sum()) / union if union else 1.0
