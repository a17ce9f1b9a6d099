"""Helpers of ``scripts/gpu_kit.sh``: build the parts of the ``.gpu/`` training kit.

    python scripts/gpu_kit.py words STAGE/words.txt [--n 50000]
    python scripts/gpu_kit.py data ../shared/data STAGE/data iiit5k_train svt_train ic15_train
    python scripts/gpu_kit.py fonts STAGE/fonts --budget-mib 6
    python scripts/gpu_kit.py ckpt-step /work/runs/crnn_small_en/checkpoint.pt

``fonts`` keeps the synthetic-data recipe: fonts are subset to printable ASCII (the vocab; glyph
outlines, hinting, kerning and names kept, every subset font checked to render identically), keep
their sub-folder (the generator balances sampling per folder and family) and are chosen
round-robin over the folders, one font per family first, until the (compressed) size budget is
spent.
``data`` re-encodes real crops as JPEG (quality 90, no chroma subsampling, height capped at 96 px:
the model sees 32 px) so the three train splits fit the device's transfer limit.
"""

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

_MIB = 1 << 20
_STYLE = re.compile(
    r"bold|italic|oblique|light|thin|medium|black|heavy|condensed|cond|narrow|semi|extra|ultra|"
    r"hairline|demi|book|display|mono|it$|bd$|bi$",
    re.IGNORECASE,
)


def cmd_words(args: argparse.Namespace) -> None:
    from wordfreq import top_n_list

    words = top_n_list("en", args.n)
    bad = [w for w in words if not w.strip() or any(c.isspace() for c in w)]
    if bad:
        sys.exit(f"wordfreq words with whitespace: {bad[:5]}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"words: {len(words)} -> {args.out}")


def cmd_data(args: argparse.Namespace) -> None:
    from PIL import Image

    from crnn_plugin.training.datasets import read_labels_tsv

    src_root, out_root = Path(args.src), Path(args.out)
    for split in args.splits:
        if "test" in split.lower():
            sys.exit(f"refusing to copy {split}: test splits never travel")
        src, out = src_root / split, out_root / split
        label_files = sorted(p.name for p in src.glob("labels*.tsv"))
        if "labels.tsv" not in label_files:
            sys.exit(f"{src}: no labels.tsv")
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        renamed: dict[str, str] = {}
        n_bytes = 0
        for name in label_files:
            rows = read_labels_tsv(src / name)
            lines = []
            for rel, label in rows:
                if rel not in renamed:
                    new_rel = str(Path(rel).with_suffix(".jpg"))
                    img: Image.Image = Image.open(src / rel)
                    img.load()
                    if img.mode not in ("RGB", "L"):
                        img = img.convert("RGB")
                    if img.height > args.max_h:
                        w = max(1, round(img.width * args.max_h / img.height))
                        img = img.resize((w, args.max_h), Image.Resampling.LANCZOS)
                    buf = io.BytesIO()
                    img.save(buf, "JPEG", quality=args.quality, subsampling=0)
                    (tmp / new_rel).parent.mkdir(parents=True, exist_ok=True)
                    (tmp / new_rel).write_bytes(buf.getvalue())
                    n_bytes += buf.tell()
                    renamed[rel] = new_rel
                lines.append(f"{renamed[rel]}\t{label}\n")
            tmp.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text("".join(lines), encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        print(f"data: {split}: {len(renamed)} images, {n_bytes / _MIB:.1f} MiB, labels {label_files}")


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
    from crnn_plugin.training.synth import SynthConfig

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
    cap = SynthConfig().max_families_per_source
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


def cmd_ckpt_step(args: argparse.Namespace) -> None:
    import torch

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    print(int(ck["step"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("words", help="top-n wordfreq English words, one a line")
    w.add_argument("out")
    w.add_argument("--n", type=int, default=50_000)
    d = sub.add_parser("data", help="re-encode real train splits (labels*.tsv + images)")
    d.add_argument("src")
    d.add_argument("out")
    d.add_argument("splits", nargs="+")
    d.add_argument("--max-h", type=int, default=96)
    d.add_argument("--quality", type=int, default=90)
    f = sub.add_parser("fonts", help="ASCII-subset a spread of the usable fonts within a size budget")
    f.add_argument("out")
    f.add_argument("--src", nargs="*", help="font folders (default: the system font folders)")
    f.add_argument("--budget-mib", type=float, default=30.0, help="gzip-compressed size budget")
    f.add_argument("--max-font-mib", type=float, default=2.0)
    c = sub.add_parser("ckpt-step", help="print a training checkpoint's step")
    c.add_argument("checkpoint")
    args = p.parse_args()
    {"words": cmd_words, "data": cmd_data, "fonts": cmd_fonts, "ckpt-step": cmd_ckpt_step}[args.command](args)


if __name__ == "__main__":
    main()
