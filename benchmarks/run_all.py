"""Benchmark driver: accuracy and speed of crnn_plugin against OCR peers, written to a markdown file.

Every peer runs in its own process (``benchmarks/peers.py``): Tesseract, RapidOCR and EasyOCR with
the peers' venv (``benchmarks/setup_peers.sh``), docTR's CRNNs and our model with the project's
venv (this interpreter). Our CLI is timed as a subprocess. Timed sections stop the background
training (``python -m crnn_plugin.train``) and resume it right after, whatever happens.

    python benchmarks/run_all.py --data /work/shared/data --model /work/runs/crnn_small_en/final \\
        --out benchmarks/results.md
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    SETS,
    WINDOWS,
    data_folder,
    parse_sets,
    paused_training,
    resume_training,
)
from run_all_children import run_worker, time_cli  # noqa: E402
from run_all_machine import machine_info  # noqa: E402
from run_all_names import ACC_PEERS, DOCTR_PEERS, HERE, LABELS, PEERS_VENV_PYTHON  # noqa: E402
from run_all_report import write_markdown  # noqa: E402

logger = logging.getLogger("benchmarks.run_all")


def default_model() -> str | None:
    """The shipped default model's name when its weights exist, else ``None``.

    Asked in a subprocess: importing torch here would inflate every child's ``ru_maxrss`` (a
    forked child counts the parent's resident pages until it execs).
    """
    code = (
        "from crnn_plugin.hub import DEFAULT_MODEL, shipped_models;"
        "print(DEFAULT_MODEL if DEFAULT_MODEL in shipped_models() else '')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def check_model(model: str) -> str | None:
    """Why ``model`` cannot be loaded (the last line of the error), or ``None`` when it loads.

    In a subprocess, like :func:`default_model`: loading torch and the weights here would count in
    every child's ``ru_maxrss`` (peak RSS column).
    """
    code = "import sys; from crnn_plugin import from_pretrained; from_pretrained(sys.argv[1])"
    out = subprocess.run([sys.executable, "-c", code, model], capture_output=True, text=True, check=False)
    if out.returncode == 0:
        return None
    lines = out.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {out.returncode}"


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and write the markdown (and a JSON copy of the raw numbers)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=data_folder, required=True, help="folder with iiit5k_test/ and svt_test/")
    ap.add_argument("--model", default=None, help="our model folder (default: the shipped default model)")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    ap.add_argument("--peers-python", default=PEERS_VENV_PYTHON, help="python of the peers' venv")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--e2e-limit", type=int, default=300, help="crops for crop-by-crop end-to-end timing")
    ap.add_argument("--model-crops", type=int, default=512, help="real crops for our batch-64 throughput")
    ap.add_argument("--model-b1", type=int, default=100, help="crops for batch-1 throughput")
    ap.add_argument("--doctr-crops", type=int, default=256, help="crops for docTR batch-64 throughput")
    ap.add_argument("--cli-fp32", action="store_true", help="also time the CLI with --fp32")
    ap.add_argument("--skip", default="", help="comma list of peers to skip")
    ap.add_argument(
        "--sets",
        type=parse_sets,
        default=list(SETS),
        help=f"comma list of accuracy sets (default: all, {','.join(SETS)})",
    )
    ap.add_argument(
        "--peer-python",
        action="append",
        default=[],
        metavar="PEER=PYTHON",
        help="python for one peer, e.g. rapidocr_v4=/work/peers-v4-venv/bin/python (repeatable; "
        "default: --peers-python for Tesseract, RapidOCR and EasyOCR)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 50 crops per set, tiny timings (numbers meaningless)",
    )
    ap.add_argument("--acc-limit", type=int, default=None, help="accuracy on the first N crops of each set")
    ap.add_argument("--worker-timeout", type=float, default=1800, help="seconds per worker process")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    t_start = time.perf_counter()
    model = args.model or default_model()
    if model is None:
        ap.error("the shipped default model has no weights yet: pass --model DIR")
    problem = check_model(model)  # a bad --model is found now, not after minutes of peers
    if problem:
        ap.error(f"--model {model}: {problem}")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    data = args.data.resolve()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    common = ["--threads", str(args.threads), "--repeats", str(args.repeats)]
    if args.quick:
        args.e2e_limit = min(args.e2e_limit, 20)
        args.acc_limit = min(args.acc_limit or 50, 50)
        args.model_crops, args.model_b1, args.doctr_crops = 128, 10, 128
    if args.acc_limit is not None:
        common += ["--acc-limit", str(args.acc_limit)]
    pythons = {p: args.peers_python for p in ACC_PEERS} | _peer_pythons(ap, args.peer_python)
    common += ["--model-b1", str(args.model_b1)]
    e2e = ["--e2e-limit", str(args.e2e_limit)]
    notes: list[str] = []
    res: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(
            ["python", "benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": machine_info(args.threads),
        "model": model,
        "repeats": args.repeats,
        "e2e_limit": args.e2e_limit,
        "sets": args.sets,
        "acc_limit": args.acc_limit,
        "workers": {},
        "notes": notes,
    }
    try:
        ours_extra = ["--pause-accuracy", "--model-crops", str(args.model_crops)]
        common += ["--sets", ",".join(args.sets)]
        doctr_extra = ["--model-crops", str(args.doctr_crops)]
        plan: list[tuple[str, str, list[str]]] = [
            ("ours", sys.executable, ["--model", model, "--tasks", "accuracy,e2e,model", *ours_extra]),
            *((p, pythons[p], ["--tasks", "accuracy,e2e", "--pause-accuracy"]) for p in ACC_PEERS),
            *((p, sys.executable, ["--tasks", "e2e,model", *doctr_extra]) for p in DOCTR_PEERS),
        ]
        for peer, python, extra in plan:
            if peer in skip:
                notes.append(f"{LABELS[peer]}: skipped (--skip).")
                continue
            if not Path(python).exists():
                notes.append(f"{LABELS[peer]}: not run, {python} missing (run benchmarks/setup_peers.sh).")
                continue
            res["workers"][peer] = run_worker(
                python, peer, [*extra, *common, *e2e], args.worker_timeout, data
            )
            if res["workers"][peer] is None:
                notes.append(f"{LABELS[peer]}: the worker failed (see the driver's stderr).")
        for key, fp32 in (("cli", False), ("cli_fp32", True)):
            if "cli" in skip or (fp32 and not args.cli_fp32):
                continue
            try:  # a failing CLI is a note in the table, like a failing worker
                res[key] = time_cli(model, data, args.repeats, fp32, args.worker_timeout)
            except (RuntimeError, OSError) as e:
                notes.append(f"our CLI{' --fp32' if fp32 else ''}: not timed ({e}).")
        with paused_training(True, "model-alone memory"):
            mem_args = ["--model", model, "--tasks", "memory", "--model-crops", str(args.model_crops)]
            res["memory"] = run_worker(sys.executable, "ours", mem_args, 300, data)
    finally:
        resume_training()
    res["total_wall_s"] = time.perf_counter() - t_start
    res["windows"] = [
        {**win, "what": f"{peer}: {win['what']}"}
        for peer, rep in res["workers"].items()
        if rep
        for win in rep.get("windows", [])
    ] + [{**win, "what": f"driver: {win['what']}"} for win in WINDOWS]
    notes.extend(standard_notes(res))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_markdown(args.out, res)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str) + "\n", encoding="utf-8")
    logger.info("wrote %s (%.0f s)", args.out, res["total_wall_s"])
    return 0


def _peer_pythons(ap: argparse.ArgumentParser, values: list[str]) -> dict[str, str]:
    """``--peer-python PEER=PYTHON`` values as a dict, checked."""
    out: dict[str, str] = {}
    for v in values:
        peer, sep, python = v.partition("=")
        if not sep or peer not in ACC_PEERS:
            ap.error(f"--peer-python {v!r}: expected PEER=PYTHON with PEER one of {', '.join(ACC_PEERS)}")
        out[peer] = python
    return out


def standard_notes(res: dict[str, Any]) -> list[str]:
    """Method notes that depend on what ran."""
    w = res["workers"]
    notes = [
        "Accuracy: word sets: each prediction and label are lower-cased and stripped of everything but "
        "a-z0-9 (the regex of `crnn_plugin.evaluate.normalize36`, copied into "
        "`benchmarks/bench_common.py`), then compared exactly; line sets: whitespace runs become one "
        "space and both sides are case-folded (`crnn_plugin.evaluate.normalize_line`), exact match and "
        "CER with `rapidfuzz.distance.Levenshtein`; no lexicon."
        + (
            f" Only the first {res['acc_limit']} crops of each set were scored."
            if res.get("acc_limit")
            else ""
        ),
        "Threads: torch `set_num_threads(2)`, onnxruntime intra-op 2 / inter-op 1, OMP_NUM_THREADS=2.",
        f"Crop-by-crop timings: first {res['e2e_limit']} IIIT5K test crops, after a 10-crop warm-up, with "
        "the files already in the page cache (the accuracy pass read them just before).",
        "Our CLI timing includes the Python start-up, `import torch` and loading the weights "
        "(one process per run); its folder is read in sorted order and batched 64 by width.",
    ]
    for peer in ACC_PEERS:
        rep = w.get(peer)
        if rep:
            notes.append(
                f"{LABELS[peer]}: {rep['info']['version']}; {rep['info']['model']}; "
                f"{rep['info']['settings']}."
            )
    for peer, wheel in (("rapidocr", "rapidocr"), ("rapidocr_v4", "rapidocr_onnxruntime")):
        rep = w.get(peer)
        if rep:
            notes.append(
                f"{LABELS[peer]} used the recognizer shipped inside the `{wheel}` wheel "
                f"(model_in_wheel={rep['info'].get('model_in_wheel')}); nothing was downloaded."
            )
    for peer in DOCTR_PEERS:
        rep = w.get(peer)
        if rep:
            notes.append(f"{LABELS[peer]}: {rep['info']['version']}; {rep['info']['settings']}.")
    return notes


if __name__ == "__main__":
    raise SystemExit(main())
