"""The synthetic-data side of the GPU kit (``scripts/gpu_kit.py``): fonts subset to printable ASCII
within a size budget, and downscaled wallpapers for the scene synth's photo backgrounds."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import string
import sys
import zlib
from collections import defaultdict
from pathlib import Path

from gpu_kit_data import _MIB

_STYLE = re.compile(
    r"bold|italic|oblique|light|thin|medium|black|heavy|condensed|cond|narrow|semi|extra|ultra|"
    r"hairline|demi|book|display|mono|it$|bd$|bi$",
    re.IGNORECASE,
)


def _kit_path(path: Path, roots: list[Path]) -> Path:
    """Where a font goes in the kit: its path below its font root (other roots get a prefix)."""
    for i, r in enumerate(roots):
        if path.is_relative_to(r):
            rel = path.relative_to(r)
            return rel if i == 0 else Path(re.sub(r"\W+", "_", str(r).strip("/"))) / rel
    return Path("other") / path.name


def _render(path: str, text: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    out = b""
    for size in (23, 40):
        font = ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
        left, top, right, bottom = font.getbbox(text)
        img = Image.new("L", (max(1, int(right - left) + 4), max(1, int(bottom - top) + 4)), 0)
        ImageDraw.Draw(img).text((2 - left, 2 - top), text, font=font, fill=255)
        out += img.tobytes() + repr(img.size).encode()
    return out


def _subset(src: Path, dst: Path) -> bool:
    """Subset ``src`` to printable ASCII into ``dst``; False if it would not render identically."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.name_legacy = True
    opts.layout_features = ["*"]
    opts.legacy_kern = True
    opts.notdef_outline = True
    opts.glyph_names = True
    opts.hinting = True
    try:
        # recalcBBoxes=False keeps head.flags (bit 1: lsb at x=0) and maxp: FreeType renders by them
        font = TTFont(str(src), fontNumber=0, recalcBBoxes=False)
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=range(0x20, 0x7F))
        sub.subset(font)
        dst.parent.mkdir(parents=True, exist_ok=True)
        font.save(str(dst))
        text = string.ascii_letters + string.digits + string.punctuation
        return _render(str(src), text) == _render(str(dst), text)
    except Exception as exc:  # noqa: BLE001 - fall back to copying the file
        print(f"fonts: cannot subset {src}: {exc}", file=sys.stderr)
        return False


def _order(items: list[str]) -> list[str]:
    return sorted(items, key=lambda s: hashlib.sha1(s.encode()).hexdigest())


def cmd_fonts(args: argparse.Namespace) -> None:
    import logging

    from crnn_plugin.training.fonts import DEFAULT_FONT_DIRS, find_fonts

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    src_dirs = args.src or list(DEFAULT_FONT_DIRS)
    roots = [Path(d).expanduser() for d in src_dirs]
    fonts = find_fonts(src_dirs)
    if not fonts:
        sys.exit(f"no usable fonts under {src_dirs}")
    info = {str(f.path): f for f in fonts}
    # folder -> family -> fonts (a "regular" style first, then by size)
    by_dir: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for f in fonts:
        by_dir[str(f.path.parent)][f.family or f.path.stem].append(str(f.path))
    cap = _max_families_per_source()
    first: dict[str, list[str]] = {}
    queues: dict[str, list[str]] = {}
    for d, fams in sorted(by_dir.items()):
        for paths in fams.values():
            paths.sort(
                key=lambda p: (bool(_STYLE.search(Path(p).stem.replace("Regular", ""))), os.path.getsize(p))
            )
        fam_order = _order(list(fams))
        # phase 1: one font per family (as many families as the sampler weighs: max_families_per_source)
        first[d] = [fams[fam][0] for fam in fam_order[:cap]]
        rest: list[str] = [fams[fam][0] for fam in fam_order[cap:]]
        depth = 1
        while any(len(fams[fam]) > depth for fam in fam_order):
            rest += [fams[fam][depth] for fam in fam_order if len(fams[fam]) > depth]
            depth += 1
        queues[d] = rest
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    budget, used, used_raw = args.budget_mib * _MIB, 0, 0
    chosen: list[tuple[str, Path]] = []
    copied: list[str] = []
    for phase in (first, queues):  # round-robin over the folders
        while any(phase.values()) and budget - used > 8 * 1024:
            for d in sorted(phase):
                while phase[d]:
                    p = Path(phase[d].pop(0))
                    rel = _kit_path(p, roots)
                    dst = tmp / rel
                    subset_ok = _subset(p, dst)
                    if not subset_ok:
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(p, dst)
                    raw = dst.read_bytes()
                    size = len(zlib.compress(raw, 6))  # what it adds to the kit's .tar.gz
                    if len(raw) > args.max_font_mib * _MIB or used + size > budget:
                        dst.unlink()
                        continue
                    used += size
                    used_raw += len(raw)
                    chosen.append((str(p), rel))
                    if not subset_ok:
                        copied.append(str(rel))
                    break
    # The kit's fonts must be found exactly as the originals were (family, charset, look-alike letters).
    found = {str(f.path.relative_to(tmp)): f for f in find_fonts([str(tmp)])}
    bad: list[Path] = []
    for src, rel in chosen:
        f, g = info[src], found.get(str(rel))
        if g is None or (f.family, f.charset, f.ambiguous) != (g.family, g.charset, g.ambiguous):
            bad.append(rel)
            (tmp / rel).unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    kept = [(src, rel) for src, rel in chosen if rel not in bad]
    n_dirs = len({rel.parent for _, rel in kept})
    kept_fams = {(str(Path(src).parent), info[src].family) for src, _ in kept}
    all_fams = {(d, fam) for d, fs in by_dir.items() for fam in fs}
    weighed = sum(min(len(fs), cap) for fs in by_dir.values())
    kept_w = sum(min(sum(1 for d2, _ in kept_fams if d2 == d), cap) for d in by_dir)
    print(
        f"fonts: {len(kept)} of {len(fonts)} usable fonts, {len(kept_fams)} of {len(all_fams)} (folder, "
        f"family) pairs ({kept_w} of the {weighed} the sampler weighs), {n_dirs} of {len(by_dir)} folders, "
        f"{used_raw / _MIB:.1f} MiB, {used / _MIB:.1f} MiB compressed (budget {args.budget_mib:.1f})"
    )
    if copied:
        print(f"fonts: copied whole (a subset would render differently): {copied}")
    if bad:
        print(f"fonts: dropped after the re-scan: {bad}", file=sys.stderr)


def _max_families_per_source() -> int:
    """The synth sampler's per-folder family cap (its config class has moved between modules)."""
    import importlib

    for mod in ("crnn_plugin.training.synth_config", "crnn_plugin.training.synth"):
        try:
            cls = importlib.import_module(mod).SynthConfig
        except (ImportError, AttributeError):
            continue
        return int(cls().max_families_per_source)
    return 3


def cmd_photos(args: argparse.Namespace) -> None:
    """Wallpapers for the scene synth's photo backgrounds (``SynthConfig.p_photo``), downscaled as
    the generator keeps them (long side 512) and chosen in a fixed order until the budget is spent."""
    from PIL import Image

    from crnn_plugin.training import synth_photos
    from crnn_plugin.training.synth import SynthConfig

    found = synth_photos.find_photos(tuple(SynthConfig().photo_dirs))
    side, min_bytes = synth_photos._SIDE, synth_photos._MIN_BYTES
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    used, kept = 0, 0
    for path in _order(list(found)):
        with Image.open(path) as im:
            im.draft("RGB", (side, side))
            small = im.convert("RGB")
        small.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in (args.quality, 95):
            buf = io.BytesIO()
            small.save(buf, "JPEG", quality=quality)
            if buf.tell() >= min_bytes:  # smaller files are taken for icons and skipped
                break
        if buf.tell() < min_bytes:
            continue
        if used + buf.tell() > args.budget_mib * _MIB:
            break  # (skipping to smaller ones would favour plain pictures)
        (out / f"photo_{kept:03d}.jpg").write_bytes(buf.getvalue())
        used += buf.tell()
        kept += 1
    print(f"photos: {kept} of {len(found)} wallpapers, long side {side} px, {used / _MIB:.1f} MiB")
