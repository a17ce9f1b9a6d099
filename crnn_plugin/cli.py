"""The ``crnn-plugin`` command: ``recognize``, ``evaluate``, ``train`` and ``info``.

``main(argv)`` is importable so tests call it in-process. Results go to stdout (or ``--output``),
logs and progress to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

__all__ = ["main", "EXIT_OK", "EXIT_SOME_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_BROKEN_PIPE"]

EXIT_OK = 0
#: Some inputs could not be read (each has an ``"error"`` row); all others were recognised.
EXIT_SOME_FAILED = 1
#: Bad command line, missing model, unreadable lexicon, output that cannot be written...
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: stdout closed by its reader (``| head``): 128 + SIGPIPE, as a shell reports it
EXIT_BROKEN_PIPE = 141


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=None,
        help="shipped model name, model folder, or Hub repo id (default: shipped weights)",
    )
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit)")
    p.add_argument(
        "--mixed-batches",
        action="store_true",
        help="pad each width-sorted batch to its widest crop: faster, but a crop's reading may then depend "
        "on the other crops (default: batch-invariant batches)",
    )
    p.add_argument(
        "--upright",
        action="store_true",
        help="read tall crops only as given (default: also rotated 90 degrees both ways, most probable kept)",
    )
    p.add_argument(
        "--no-stretch",
        action="store_true",
        help="read narrow crops only at their own aspect (default: unsure ones also stretched to 3:1 "
        "width:height and deskewed, most probable kept)",
    )
    p.add_argument(
        "--no-lm",
        action="store_true",
        help="no character language model: unsure letter readings stay as the network's best path "
        "(default: rescored, see crnn_plugin.lm_rescore)",
    )
    p.add_argument(
        "--no-deskew",
        action="store_true",
        help="stretch unsure narrow crops but do not also read them deskewed (default: both)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="crops per forward pass (default: 64 on CPU, 256 on CUDA)",
    )
    p.add_argument(
        "--fp32",
        action="store_true",
        help="PyTorch in fp32: no mixed precision, no int8 (default: bf16/fp16 on CUDA, int8 ONNX or "
        "bf16 on CPU)",
    )
    p.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto (default): the model's int8 ONNX export on CPU when it has one, else PyTorch "
        "(installed with the 'torch' extra); 'crnn-plugin info' lists what this install can run",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crnn-plugin", description="CRNN scene-text word recognition (Shi, Bai & Yao 2015)."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("recognize", help="recognise word crops (files, folders, or - for stdin)")
    r.add_argument("paths", nargs="+", help="image files, folders, or - to read paths from stdin")
    r.add_argument("--recursive", "-r", action="store_true", help="descend into sub-folders")
    r.add_argument("--glob", default=None, help="only files matching this pattern (e.g. '*.png')")
    r.add_argument("--output", "-o", default=None, help="write results here instead of stdout")
    r.add_argument(
        "--format",
        choices=["jsonl", "csv", "tsv", "txt"],
        default=None,
        help="output format (default: from --output's suffix, else jsonl)",
    )
    r.add_argument("--resume", action="store_true", help="skip inputs already in --output")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    r.add_argument("--lexicon", default=None, help="lexicon file (one word a line) or 'en-50k'")
    r.add_argument(
        "--lexicon-per-image",
        default=None,
        metavar="TSV",
        help="per-image lexicons: path<TAB>w1,w2,... (paths as given or relative to the TSV)",
    )
    r.add_argument(
        "--lexicon-min-ratio",
        type=float,
        default=None,
        metavar="R",
        help="open-vocabulary lexicon: keep the lexicon-free reading unless the best word is at least "
        "R times as probable (default: closed, always a lexicon word)",
    )
    r.add_argument(
        "--lexicon-max-distance",
        type=int,
        default=3,
        metavar="D",
        help="lexicons over 1000 words: only words within D edits of the reading are scored (default 3)",
    )
    r.add_argument("--beam-width", type=int, default=None, help="prefix beam search width (no lexicon)")
    r.add_argument("--workers", type=int, default=None, help="decoding threads (default: min(8, cores))")
    _add_model_args(r)

    e = sub.add_parser("evaluate", help="word accuracy on labelled benchmarks")
    e.add_argument(
        "dirs", nargs="+", help="benchmark folders: labels.tsv, docTR's images/ + labels.json, or an LMDB"
    )
    e.add_argument("--limit", type=int, default=None, help="first N crops of each folder")
    e.add_argument(
        "--lexicon",
        action="append",
        default=[],
        help="also score with a lexicon: 'per-image' (lexicon50.tsv), 'en-50k' or a file",
    )
    e.add_argument(
        "--lexicon-min-ratio",
        type=float,
        default=None,
        metavar="R",
        help="also score every --lexicon open-vocabulary with this ratio (see recognize)",
    )
    e.add_argument("--predictions", default=None, help="write per-sample predictions (JSON lines)")
    e.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table (default): Markdown, one column per benchmark; json: one JSON object per benchmark",
    )
    e.add_argument(
        "--doctr",
        action="store_true",
        help="also evaluate through docTR's recognition_predictor (32x128 inputs)",
    )
    _add_model_args(e)

    t = sub.add_parser("train", help="train or resume (see crnn_plugin.training.train)", add_help=False)
    t.add_argument("args", nargs=argparse.REMAINDER)

    i = sub.add_parser("info", help="model, vocab, device, available backends and versions")
    _add_model_args(i)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crnn-plugin`` command; returns the exit code.

    SIGINT and SIGTERM end it with exit 130 and one line on stderr, from the first line of
    ``main`` on (``recognize`` first writes what it finished).
    """
    old_term = _on_sigterm(_interrupt)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("crnn-plugin: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        _on_sigterm(old_term)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _on_sigterm(handler: object) -> object:
    """Install a SIGTERM handler and return the previous one (nothing outside the main thread)."""
    try:
        return signal.signal(signal.SIGTERM, handler)  # type: ignore[arg-type]
    except ValueError:  # not the main thread: leave signals alone
        return handler


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        from .training.train import main as train_main

        return train_main(argv[1:])
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="crnn-plugin: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    from .errors import CRNNError

    try:
        if args.command == "recognize":
            from ._cli_recognize import run_recognize

            return run_recognize(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "info":
            return _info(args)
    except CRNNError as e:
        print(f"crnn-plugin: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


def _recognizer(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The Recognizer the model options of ``recognize`` / ``evaluate`` ask for."""
    from .errors import CRNNError
    from .recognizer import Recognizer

    if args.fp32 and args.backend == "onnx":
        raise CRNNError("--fp32 runs the PyTorch model in float32; it cannot be combined with --backend onnx")
    return Recognizer.from_pretrained(
        args.model,
        revision=args.revision,
        device=args.device,
        batch_size=args.batch_size,
        amp=not args.fp32,
        backend="torch" if args.fp32 else args.backend,
        rotate_tall=not args.upright,
        stretch_narrow=not args.no_stretch,
        deskew_narrow=not args.no_deskew,
        **({"lm_weight": 0.0} if args.no_lm else {}),  # else the Recognizer's default
        batch_invariant=not args.mixed_batches,
        workers=getattr(args, "workers", None),  # recognize only
    )


def _unwritable(path: str) -> str | None:
    """Why ``path`` could not be written, or None; creates, truncates and follows nothing."""
    target = os.path.realpath(path)
    if os.path.isdir(target):
        return "Is a directory"
    if os.path.exists(target):
        return None if os.access(target, os.W_OK) else "Permission denied"
    parent = os.path.dirname(target) or "."
    if not os.path.isdir(parent):
        return "No such file or directory"
    return None if os.access(parent, os.W_OK) else "Permission denied"


def _evaluate(args: argparse.Namespace) -> int:
    from .errors import DatasetError
    from .evaluate import evaluate_folder, format_table, write_predictions

    if args.limit is not None and args.limit < 1:
        print("crnn-plugin: error: --limit must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    if args.doctr and args.format == "json":
        print("crnn-plugin: error: --doctr prints a table; use it without --format json", file=sys.stderr)
        return EXIT_USAGE
    if args.predictions:  # found unwritable now, not after the whole evaluation; nothing is touched
        why = _unwritable(args.predictions)
        if why:
            print(f"crnn-plugin: error: cannot write {args.predictions}: {why}", file=sys.stderr)
            return EXIT_USAGE
    rec = _recognizer(args)
    from .lexicon import Lexicon

    lexicons: list[str | Lexicon] = []
    for name in args.lexicon:  # read and indexed once for every folder, before any is evaluated
        if name == "per-image":
            lexicons.append(name)
            continue
        lex = Lexicon.load(name, progress=True)
        lex.check_vocab(rec.config.vocab)
        lexicons.append(lex)
    results, good = [], []
    for d in args.dirs:
        try:  # a benchmark that cannot be read is reported; the others are still evaluated
            res = evaluate_folder(
                rec,
                d,
                limit=args.limit,
                lexicons=lexicons,
                keep_predictions=bool(args.predictions),
                min_ratio=args.lexicon_min_ratio,
            )
        except DatasetError as e:
            print(f"crnn-plugin: error: {e}", file=sys.stderr)
            continue
        results.append(res)
        good.append(d)
    if not results:
        return EXIT_USAGE
    if args.format == "json":
        import json

        for r in results:
            print(json.dumps(r.summary(), ensure_ascii=False))
    else:
        print(format_table(results))
    if args.doctr:
        from .doctr_plugin import evaluate_doctr_path

        print()
        print(evaluate_doctr_path(rec.model, good, limit=args.limit))
    if args.predictions:
        write_predictions(results, args.predictions)
    return EXIT_OK if len(good) == len(args.dirs) else EXIT_SOME_FAILED


def _info(args: argparse.Namespace) -> int:
    import json
    import platform
    from importlib import metadata

    from . import __version__
    from .backend import available_backends, torch_installed
    from .model_folder import expected_tensors, resolve_model_dir, shipped_models

    rec = _recognizer(args)  # the Recognizer `recognize` would build with these options
    folder = resolve_model_dir(args.model, revision=args.revision)
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    shapes = [s for k, (s, _) in expected_tensors(rec.config).items() if not k.endswith(buffers)]
    torch_version = metadata.version("torch") if torch_installed() else None
    info = {
        "crnn_plugin": __version__,
        "model": str(folder),
        "arch": rec.config.arch,
        "parameters": sum(_numel(s) for s in shapes),
        "vocab": rec.config.vocab,
        "shipped_models": sorted(shipped_models()),
        "device": str(rec.device),
        "backend": rec.backend,
        "precision": rec.runner.precision,
        "backends": available_backends(),  # what this install can run (imports torch when installed)
        "torch": torch_version,
        "python": platform.python_version(),
    }
    print(json.dumps(info, indent=2, ensure_ascii=False))
    return EXIT_OK


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
