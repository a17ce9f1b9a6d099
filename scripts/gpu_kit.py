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

# The commands live in sibling modules: scripts/ is sys.path[0] when Python runs this file, and
# tests put it on sys.path before they import this module.
from gpu_kit_data import (
    DEFAULT_ENCODING,
    ENCODINGS,
    GREY_TOL,
    KIT_DATA,
    Encoding,
    cmd_data,
    cmd_measure,
    cmd_pack,
    cmd_unpack,
    cmd_words,
    config_splits,
    encode,
    is_grey,
)
from gpu_kit_fonts import cmd_fonts, cmd_photos
from gpu_kit_start import append_log, cmd_info, cmd_log_append, cmd_start, make_start, read_start

__all__ = [
    "DEFAULT_ENCODING",
    "ENCODINGS",
    "GREY_TOL",
    "KIT_DATA",
    "Encoding",
    "append_log",
    "cmd_data",
    "cmd_fonts",
    "cmd_info",
    "cmd_log_append",
    "cmd_measure",
    "cmd_pack",
    "cmd_photos",
    "cmd_start",
    "cmd_unpack",
    "cmd_words",
    "config_splits",
    "encode",
    "is_grey",
    "main",
    "make_start",
    "read_start",
]


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
