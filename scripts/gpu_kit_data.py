"""The data side of the GPU kit (``scripts/gpu_kit.py``): the top-n words, the re-encoded real
train splits (:data:`ENCODINGS`), the deterministic packs that carry them and ``measure``, which
compares encodings of one split."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

_MIB = 1 << 20
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
