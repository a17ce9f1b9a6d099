"""Helpers of ``scripts/gpu_kit.sh``, ``gpu_train.sh`` and ``gpu_fetch.sh`` (see ``scripts/GPU.md``).

    python scripts/gpu_kit.py words STAGE/words.txt [--n 50000]
    python scripts/gpu_kit.py data ../shared/data STAGE/data --config configs/crnn_v2_en_gpu.json
    python scripts/gpu_kit.py fonts STAGE/fonts --budget-mib 6
    python scripts/gpu_kit.py photos STAGE/photos --budget-mib 1.5
    python scripts/gpu_kit.py pack STAGE .gpu/data.tar.xz words.txt data
    python scripts/gpu_kit.py unpack .gpu/data.tar.xz .gpu
    python scripts/gpu_kit.py start runs/crnn_v2_en/checkpoint.pt .gpu/start
    python scripts/gpu_kit.py start runs/gpu/final .gpu/start --prev .gpu/start --call-log OUT/train_log.csv
    python scripts/gpu_kit.py info .gpu/start calls
    python scripts/gpu_kit.py log-append OUT/train_log.csv runs/gpu/train_log.csv --prev .gpu/start
    python scripts/gpu_kit.py measure ../shared/data sroie_lines_train --model M webp:32:60 webp:32:75

``data`` re-encodes the real train splits a training config reads from ``.gpu/data/`` so that all
of them travel: crops that are effectively grey become grey, heights are capped, and each split
has its measured encoding (:data:`ENCODINGS`): WebP for photos and receipt lines, grey levels in
uncompressed PGM for the scans (the pack's xz compresses across files: typewriter glyphs repeat).
``start`` writes the model a GPU call starts from: ``config.json`` + a half-precision
``model.safetensors`` (weights only; each call is a warm restart with a fresh optimizer), its
``SHA256SUMS`` and ``start.json`` (where it came from, GPU calls and steps so far).
``fonts`` keeps the synthetic-data recipe: fonts are subset to printable ASCII (the vocab; glyph
outlines, hinting, kerning and names kept, every subset font checked to render identically), keep
their sub-folder (the generator balances sampling per folder and family) and are chosen
round-robin over the folders, one font per family first, until the (compressed) size budget is
spent.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import string
import sys
import tarfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

_MIB = 1 << 20
_STYLE = re.compile(
    r"bold|italic|oblique|light|thin|medium|black|heavy|condensed|cond|narrow|semi|extra|ultra|"
    r"hairline|demi|book|display|mono|it$|bd$|bi$",
    re.IGNORECASE,
)
KIT_DATA = ".gpu/data/"  # where a GPU config reads the real splits
GREY_TOL = 12  # an RGB crop whose channels differ by <= this (99th percentile) is stored grey


@dataclass(frozen=True)
class Encoding:
    """How one split's crops travel: ``fmt`` webp | jpeg | pgm, height cap, and ``q``: the
    quality for webp/jpeg, the grey-level step for pgm (17: 16 levels, 0 and 255 kept)."""

    fmt: str
    max_h: int
    q: int

    @classmethod
    def parse(cls, text: str) -> Encoding:
        fmt, max_h, q = text.split(":")
        if fmt not in ("webp", "jpeg", "pgm"):
            raise ValueError(f"{text!r}: format must be webp, jpeg or pgm")
        return cls(fmt, int(max_h), int(q))

    def __str__(self) -> str:
        return f"{self.fmt}:{self.max_h}:{self.q}"


# Measured on 300-2000 crops a split (scripts/GPU.md: MiB and PSNR at the model's 32 px, and
# whether the model reads the crops the same). Heights: most scene crops are under 48 px, so a
# cap of 48 changes few; the scans and receipt lines are at most ~32 px already.
ENCODINGS: dict[str, Encoding] = {
    "scans_pseudo_train": Encoding("pgm", 32, 17),
    "sroie_lines_train": Encoding("webp", 32, 60),
    "sroie_lines_train_recased": Encoding("webp", 32, 60),  # the same crops, recased labels
    "ic13_borndigital_train": Encoding("webp", 48, 95),
}
DEFAULT_ENCODING = Encoding("webp", 48, 90)


def cmd_words(args: argparse.Namespace) -> None:
    from wordfreq import top_n_list

    words = top_n_list("en", args.n)
    bad = [w for w in words if not w.strip() or any(c.isspace() for c in w)]
    if bad:
        sys.exit(f"wordfreq words with whitespace: {bad[:5]}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"words: {len(words)} -> {args.out}")


def config_splits(config: str | Path) -> list[str]:
    """The ``.gpu/data/<split>`` folders a GPU training config reads, in order."""
    data = json.loads(Path(config).read_text(encoding="utf-8"))
    splits = []
    for src in data.get("sources", []):
        path = src.get("path") or ""
        if src.get("kind", "synth") != "synth" and path.startswith(KIT_DATA):
            split = path[len(KIT_DATA) :].strip("/")
            if split and split not in splits:
                splits.append(split)
    return splits


def is_grey(img: Image.Image, tol: int = GREY_TOL) -> bool:
    """True for grey modes and for RGB crops whose channels (nearly) agree."""
    import numpy as np

    if img.mode in ("1", "L", "LA", "I", "I;16", "F"):
        return True
    a = np.asarray(img.convert("RGB"), dtype=np.int16)
    return float(np.percentile(a.max(-1) - a.min(-1), 99)) <= tol


def encode(img: Image.Image, enc: Encoding) -> tuple[bytes, str]:
    """One crop as ``enc`` says: (file bytes, file suffix). Grey crops become grey first."""
    import numpy as np
    from PIL import Image

    img = img.convert("L") if is_grey(img) else img.convert("RGB")
    if img.height > enc.max_h:
        w = max(1, round(img.width * enc.max_h / img.height))
        img = img.resize((w, enc.max_h), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if enc.fmt == "pgm":
        if enc.q > 1:
            a = np.round(np.asarray(img, dtype=np.float64) / enc.q) * enc.q
            img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), img.mode)
        img.save(buf, "PPM")
        return buf.getvalue(), ".pgm" if img.mode == "L" else ".ppm"
    if enc.fmt == "webp":
        img.save(buf, "WEBP", quality=enc.q, method=6)
        return buf.getvalue(), ".webp"
    img.save(buf, "JPEG", quality=enc.q, subsampling=0, optimize=True)
    return buf.getvalue(), ".jpg"


def _keep_subset(rels: list[str], n: int | None) -> set[str]:
    """A deterministic subset of ``n`` image paths (all when ``n`` is None)."""
    if n is None or n >= len(rels):
        return set(rels)
    return set(sorted(rels, key=lambda r: hashlib.sha1(r.encode()).hexdigest())[:n])


def cmd_data(args: argparse.Namespace) -> None:
    from PIL import Image

    from crnn_plugin.training.datasets import open_dataset, read_labels_tsv

    splits = list(args.splits) + (config_splits(args.config) if args.config else [])
    overrides = {k: Encoding.parse(v) for k, v in (s.split("=", 1) for s in args.enc)}
    limits = {k: int(v) for k, v in (s.split("=", 1) for s in args.max_items)}
    vocab = _config_vocab(args.config) if args.config else None
    extras = {k: Path(v) for k, v in (s.split("=", 1) for s in args.extra)}
    src_root, out_root = Path(args.src), Path(args.out)
    for split in splits:
        src, out = extras.get(split, src_root / split), out_root / split
        names = (split, src.name, src.resolve().name, (src / "source").resolve().name)
        if any("test" in n.lower() or "val" in n.lower() for n in names):
            sys.exit(f"refusing to copy {split} ({src}): test and validation splits never travel")
        enc = overrides.get(split, ENCODINGS.get(split, DEFAULT_ENCODING))
        label_files = sorted(p.name for p in src.glob("labels*.tsv"))
        if "labels.tsv" not in label_files:
            sys.exit(f"{src}: no labels.tsv")
        tables = {name: read_labels_tsv(src / name) for name in label_files}
        rels = sorted({rel for rows in tables.values() for rel, _ in rows})
        if any(Path(rel).is_absolute() or ".." in Path(rel).parts for rel in rels):
            sys.exit(f"{src}: image paths must stay inside the folder (no '..', not absolute)")
        keep = _keep_subset(rels, limits.get(split))
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        renamed: dict[str, str] = {}
        used: set[str] = set()
        n_bytes, n_grey = 0, 0
        for rel in rels:
            if rel not in keep:
                continue
            img: Image.Image = Image.open(src / rel)
            img.load()
            data, suffix = encode(img, enc)
            check = Image.open(io.BytesIO(data))
            check.load()  # every file decodes
            n_grey += is_grey(img)
            new_rel = str(Path(rel).with_suffix(suffix))
            if new_rel in used:  # a.png and a.jpg both exist
                new_rel = str(Path(rel).with_suffix(Path(rel).suffix + suffix))
            used.add(new_rel)
            (tmp / new_rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / new_rel).write_bytes(data)
            n_bytes += len(data)
            renamed[rel] = new_rel
        for name, rows in tables.items():
            lines = [f"{renamed[rel]}\t{label}\n" for rel, label in rows if rel in renamed]
            (tmp / name).write_text("".join(lines), encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        sub = f" (subsampled: {len(renamed)} of {len(rels)} images)" if len(renamed) < len(rels) else ""
        print(
            f"data: {split}: {len(renamed)} images{sub}, {n_grey} grey, {enc}, {n_bytes / _MIB:.1f} MiB "
            f"before the pack's xz, labels {label_files}"
        )
        if not sub:  # the training code reads as many samples from the copy as from the source
            for name in label_files:
                a = len(open_dataset(src, labels=name, vocab=vocab, max_len=80))
                b = len(open_dataset(out, labels=name, vocab=vocab, max_len=80))
                if a != b:
                    sys.exit(f"{split}/{name}: {b} usable samples in the copy, {a} in the source")


def _config_vocab(config: str | Path) -> str | None:
    from crnn_plugin.vocab import VOCABS

    name = json.loads(Path(config).read_text(encoding="utf-8")).get("vocab")
    return VOCABS.get(name, name) if name else None


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


def _tar_filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def cmd_pack(args: argparse.Namespace) -> None:
    """A deterministic tar of ``names`` below ``stage``: .tar.xz (preset 9) or .tar.gz."""
    stage, out = Path(args.stage), Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    if out.name.endswith(".tar.xz"):
        fobj: Any = lzma.open(tmp, "wb", preset=args.preset)  # noqa: SIM115 - closed by the with below
    else:
        import gzip

        fobj = gzip.GzipFile(tmp, "wb", compresslevel=9, mtime=0)
    with fobj, tarfile.open(fileobj=fobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in args.names:
            paths = (
                [stage / name] + sorted((stage / name).rglob("*"))
                if (stage / name).is_dir()
                else [stage / name]
            )
            for p in paths:
                tar.add(p, arcname=str(p.relative_to(stage)), recursive=False, filter=_tar_filter)
    os.replace(tmp, out)
    print(f"pack: {out} {out.stat().st_size / _MIB:.1f} MiB ({' '.join(args.names)})")


def cmd_unpack(args: argparse.Namespace) -> None:
    with tarfile.open(args.archive) as tar:
        tar.extractall(args.dest, filter="data")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _last_row(call_log: Path) -> tuple[int, float]:
    """Step and hours of a call's last training row (0, 0.0 when it logged none)."""
    step, hours = 0, 0.0
    if call_log.is_file():
        with open(call_log, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("step") and row.get("hours"):
                    step, hours = int(row["step"]), float(row["hours"])
    return step, hours


def read_start(folder: str | Path) -> dict[str, Any]:
    """``start.json`` of a start folder ({} when there is none)."""
    p = Path(folder) / "start.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def make_start(
    src: Path,
    dst: Path,
    *,
    prev: Path | None = None,
    call_log: Path | None = None,
    call_steps: int | None = None,
    origin: str = "",
) -> dict[str, Any]:
    """Write ``dst``: ``config.json``, a half-precision ``model.safetensors``, ``SHA256SUMS`` and
    ``start.json``. ``src`` is a model folder or a training ``checkpoint.pt``. With ``call_log``
    (the log of the GPU call that made ``src``), the call, its steps (``call_steps``, else the
    log's last row) and hours are added to ``prev``'s."""
    import torch
    from safetensors.torch import save_file

    from crnn_plugin.config import CRNNConfig
    from crnn_plugin.hub import CONFIG_NAME, WEIGHTS_NAME, load_folder
    from crnn_plugin.model import CRNN

    info: dict[str, Any] = {"calls": 0, "gpu_steps": 0, "gpu_hours": 0.0}
    if src.is_dir():
        model = load_folder(src)
        src_hash = _sha256(src / WEIGHTS_NAME)
        desc = f"model folder {src}"
    else:
        ck = torch.load(src, map_location="cpu", weights_only=True)
        model = CRNN(CRNNConfig.from_dict(ck["model_config"]))
        model.load_state_dict(ck["model"])
        model.eval()
        src_hash = _sha256(src)
        desc = f"checkpoint {src} at step {int(ck['step'])}"
    if call_log is not None:
        old = read_start(prev) if prev is not None else {}
        step, hours = _last_row(call_log)
        step = step if call_steps is None else call_steps
        info = {
            "calls": int(old.get("calls", 0)) + 1,
            "gpu_steps": int(old.get("gpu_steps", 0)) + step,
            "gpu_hours": round(float(old.get("gpu_hours", 0.0)) + hours, 4),
        }
    info.update(origin=origin or desc, source_sha256=src_hash)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.config.save(tmp / CONFIG_NAME)
    half = {
        k: (v.detach().half() if v.is_floating_point() else v.detach()).contiguous()
        for k, v in model.state_dict().items()
    }
    save_file(half, str(tmp / WEIGHTS_NAME), metadata={"format": "pt", "arch": model.config.arch})
    os.chmod(tmp / WEIGHTS_NAME, 0o644)  # safetensors writes 0600
    (tmp / "start.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    sums = "".join(f"{_sha256(tmp / n)}  {n}\n" for n in (CONFIG_NAME, WEIGHTS_NAME, "start.json"))
    (tmp / "SHA256SUMS").write_text(sums, encoding="utf-8")
    # the half-precision copy loads (as float32) and reads like the source
    back = load_folder(tmp)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 128)
    with torch.no_grad():
        diff = (back(x) - model(x)).abs().max().item()
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    size = (dst / WEIGHTS_NAME).stat().st_size
    print(
        f"start: {dst} from {desc}: fp16 weights {size / _MIB:.1f} MiB, max logit change {diff:.2g}; "
        f"GPU calls so far {info['calls']}, steps {info['gpu_steps']}"
    )
    return info


def cmd_start(args: argparse.Namespace) -> None:
    make_start(
        Path(args.src),
        Path(args.dst),
        prev=Path(args.prev) if args.prev else None,
        call_log=Path(args.call_log) if args.call_log else None,
        call_steps=args.call_steps,
        origin=args.origin or "",
    )


def cmd_info(args: argparse.Namespace) -> None:
    print(read_start(args.folder).get(args.key, args.default))


def append_log(call_log: Path, dest: Path, *, steps: int, hours: float) -> int:
    """Append a call's ``train_log.csv`` rows to ``dest`` with its steps and hours offset by the
    GPU calls before it, so that ``dest`` is one sequence; returns the rows appended."""
    with open(call_log, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return 0
    header, body = rows[0], rows[1:]
    i_step, i_hours = header.index("step"), header.index("hours")
    new = not dest.is_file() or dest.stat().st_size == 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(header)
        for row in body:
            row = list(row)
            if row[i_step]:
                row[i_step] = str(int(row[i_step]) + steps)
            if row[i_hours]:
                row[i_hours] = f"{float(row[i_hours]) + hours:.3f}"
            w.writerow(row)
    return len(body)


def cmd_log_append(args: argparse.Namespace) -> None:
    old = read_start(args.prev) if args.prev else {}
    n = append_log(
        Path(args.call_log),
        Path(args.dest),
        steps=int(old.get("gpu_steps", 0)),
        hours=float(old.get("gpu_hours", 0.0)),
    )
    print(f"log: {n} rows appended to {args.dest} (from GPU step {old.get('gpu_steps', 0)})")


def cmd_measure(args: argparse.Namespace) -> None:
    """Size, PSNR at the model's 32 px and the model's readings of ``split`` under each encoding."""
    import random

    import numpy as np
    import torch
    from PIL import Image
    from rapidfuzz.distance import Levenshtein

    from crnn_plugin import Recognizer, from_pretrained
    from crnn_plugin.training.datasets import read_labels_tsv

    torch.set_num_threads(1)
    root = Path(args.src) / args.split
    rows = read_labels_tsv(root / "labels.tsv")
    n_all = len({r for r, _ in rows})
    random.seed(0)
    rows = random.sample(rows, min(args.n, len(rows)))
    originals = []
    for rel, _ in rows:
        img = Image.open(root / rel)
        img.load()
        originals.append(img.convert("RGB"))
    rec = Recognizer(from_pretrained(args.model), batch_size=64, amp=False, backend="torch", device="cpu")

    def view(img: Image.Image, like: np.ndarray | None = None) -> np.ndarray:
        w, h = img.size
        size = (like.shape[1], 32) if like is not None else (max(8, round(w * 32 / h)), 32)
        return np.asarray(img.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.float64)

    refs = [view(im) for im in originals]
    truth = [label for _, label in rows]
    base = [p.text for p in rec(originals)]

    def caseless(xs: list[str]) -> float:
        return sum(
            " ".join(x.lower().split()) == " ".join(t.lower().split()) for x, t in zip(xs, truth)
        ) / len(xs)

    print(f"{args.split}: {len(rows)} of {n_all} crops; originals read right (caseless) {caseless(base):.3f}")
    for text in args.encodings:
        enc = Encoding.parse(text)
        blobs = [encode(im, enc)[0] for im in originals]
        size = len(lzma.compress(b"".join(blobs), preset=9)) if enc.fmt == "pgm" else sum(map(len, blobs))
        decoded = [Image.open(io.BytesIO(b)).convert("RGB") for b in blobs]
        mse = [float(((r - view(d, r)) ** 2).mean()) for r, d in zip(refs, decoded)]
        psnr = float(np.mean([10 * np.log10(255**2 / max(m, 1e-3)) for m in mse]))
        reads = [p.text for p in rec(decoded)]
        same = sum(a == b for a, b in zip(base, reads)) / len(rows)
        cer = sum(Levenshtein.distance(a, b) for a, b in zip(base, reads)) / max(1, sum(map(len, base)))
        print(
            f"  {enc}: {size / len(rows) * n_all / _MIB:.1f} MiB for the split, PSNR {psnr:.1f} dB at 32 px, "
            f"same reading {same:.3f} (characters changed {cer:.3f}), read right {caseless(reads):.3f}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("words", help="top-n wordfreq English words, one a line")
    w.add_argument("out")
    w.add_argument("--n", type=int, default=50_000)
    d = sub.add_parser("data", help="re-encode real train splits (labels*.tsv + images)")
    d.add_argument("src")
    d.add_argument("out")
    d.add_argument("splits", nargs="*")
    d.add_argument("--config", help="also every .gpu/data/<split> this training config reads")
    d.add_argument("--enc", nargs="*", default=[], metavar="SPLIT=FMT:MAX_H:Q", help="override ENCODINGS")
    d.add_argument("--max-items", nargs="*", default=[], metavar="SPLIT=N", help="subsample a split")
    d.add_argument(
        "--extra",
        nargs="*",
        default=[],
        metavar="SPLIT=FOLDER",
        help="read SPLIT from FOLDER, not SRC/SPLIT (e.g. receipt lines recased by scripts/recase_labels.py)",
    )
    s = sub.add_parser("splits", help="the .gpu/data splits a training config reads")
    s.add_argument("config")
    f = sub.add_parser("fonts", help="ASCII-subset a spread of the usable fonts within a size budget")
    f.add_argument("out")
    f.add_argument("--src", nargs="*", help="font folders (default: the system font folders)")
    f.add_argument("--budget-mib", type=float, default=30.0, help="gzip-compressed size budget")
    f.add_argument("--max-font-mib", type=float, default=2.0)
    ph = sub.add_parser("photos", help="downscaled wallpapers for the synth's photo backgrounds")
    ph.add_argument("out")
    ph.add_argument("--budget-mib", type=float, default=1.5)
    ph.add_argument("--quality", type=int, default=85)
    k = sub.add_parser("pack", help="a deterministic .tar.xz or .tar.gz of names below a folder")
    k.add_argument("stage")
    k.add_argument("out")
    k.add_argument("names", nargs="+")
    k.add_argument("--preset", type=int, default=9)
    u = sub.add_parser("unpack", help="extract a kit archive (tarfile's data filter)")
    u.add_argument("archive")
    u.add_argument("dest")
    st = sub.add_parser("start", help="the fp16 model folder a GPU call starts from")
    st.add_argument("src", help="model folder or training checkpoint.pt")
    st.add_argument("dst")
    st.add_argument("--prev", help="the start folder the call began from (its counts)")
    st.add_argument("--call-log", help="the call's train_log.csv (src is that call's model)")
    st.add_argument(
        "--call-steps", type=int, help="the steps that call trained (default: its log's last row)"
    )
    st.add_argument("--origin", help="where it came from (default: src)")
    i = sub.add_parser("info", help="a field of a start folder's start.json")
    i.add_argument("folder")
    i.add_argument("key")
    i.add_argument("--default", default="")
    lg = sub.add_parser("log-append", help="append a call's train_log.csv, steps and hours offset")
    lg.add_argument("call_log")
    lg.add_argument("dest")
    lg.add_argument("--prev", help="the start folder the call began from")
    m = sub.add_parser("measure", help="compare encodings of one split (size, PSNR, model readings)")
    m.add_argument("src")
    m.add_argument("split")
    m.add_argument("encodings", nargs="+", metavar="FMT:MAX_H:Q")
    m.add_argument("--model", default=None, help="model to read with (default: the shipped one)")
    m.add_argument("--n", type=int, default=300)
    args = p.parse_args()
    if args.command == "splits":
        print("\n".join(config_splits(args.config)))
        return
    commands = {
        "words": cmd_words,
        "data": cmd_data,
        "fonts": cmd_fonts,
        "photos": cmd_photos,
        "pack": cmd_pack,
        "unpack": cmd_unpack,
        "start": cmd_start,
        "info": cmd_info,
        "log-append": cmd_log_append,
        "measure": cmd_measure,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()
