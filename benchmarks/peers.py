"""Benchmark worker: measures ONE recognizer in its own process and prints a JSON report on stdout.

Peers: ``tesseract`` (tesserocr), ``rapidocr`` (RapidOCR 3, PP-OCRv6), ``rapidocr_v4``
(``rapidocr_onnxruntime`` 1.4.4, PP-OCRv4), ``easyocr`` (run with the peers' venv),
``doctr_crnn_vgg16_bn``, ``doctr_crnn_mobilenet_v3_small`` and ``ours`` (run with the project's
venv). ``run_all.py`` starts one process per peer; it can also be run by hand, e.g.::

    /work/peers-venv/bin/python benchmarks/peers.py tesseract --data /work/shared/data --tasks accuracy

Tasks: ``accuracy`` (on the word sets iiit5k_test, svt_test, svtp_test: 36-class and
case-sensitive word accuracy; on the line set sroie_lines_val: caseless exact line match and
character error rate; see ``bench_common.SETS``), ``e2e`` (files on disk -> text, crop by crop),
``model`` (forward-only throughput of a torch model, batch 1 and batch 64).
Timed sections stop the background training (see :mod:`bench_common`) and resume it afterwards.
Only the standard library is imported at module level; each peer imports its own packages.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    SETS,
    WINDOWS,
    data_folder,
    parse_sets,
    read_labels,
    rss_kib,
)
from peer_loaders import PEERS, load_peer  # noqa: E402
from peer_model import memory_ours, task_model_doctr, task_model_ours  # noqa: E402
from peer_tasks import task_accuracy, task_e2e  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    """Run the requested tasks for one peer and print one JSON object on stdout."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", choices=PEERS)
    ap.add_argument(
        "--data", type=data_folder, required=True, help="folder holding iiit5k_test/, svt_test/, ..."
    )
    ap.add_argument("--model", default=None, help="our model folder (peer 'ours' only)")
    ap.add_argument(
        "--tasks", default="accuracy,e2e", help="comma list of accuracy, e2e, model; or memory (ours, alone)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--e2e-limit", type=int, default=None, help="time e2e on the first N iiit5k_test crops")
    ap.add_argument("--acc-limit", type=int, default=None, help="accuracy on the first N crops of each set")
    ap.add_argument(
        "--sets", default=",".join(SETS), help=f"comma list of accuracy sets (default: {','.join(SETS)})"
    )
    ap.add_argument("--model-crops", type=int, default=1024, help="crops for batch-64 model throughput")
    ap.add_argument("--model-b1", type=int, default=200, help="crops for batch-1 model throughput")
    ap.add_argument("--no-pause", action="store_true", help="do not stop the background training")
    ap.add_argument("--pause-accuracy", action="store_true", help="also stop training for accuracy")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    sets = parse_sets(args.sets)
    pause = not args.no_pause
    report: dict[str, Any] = {"peer": args.peer, "tasks": tasks}
    if tasks == ["memory"]:
        if args.peer != "ours" or not args.model:
            raise SystemExit("--tasks memory is for peer 'ours' with --model")
        report["memory"] = memory_ours(args.model, args.data, args.threads, args.model_crops)
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return 0

    t0 = time.perf_counter()
    read, info = load_peer(args.peer, args.model, args.threads)
    report["load_s"] = time.perf_counter() - t0
    report["rss_kib_after_load"] = rss_kib()
    report["info"] = {k: v for k, v in info.items() if not k.startswith("_")}

    if "accuracy" in tasks:
        report["accuracy"] = task_accuracy(
            args.peer, read, info, args.data, args.acc_limit, sets, pause and args.pause_accuracy
        )
    if "e2e" in tasks:
        paths = [p for p, _ in read_labels(args.data / "iiit5k_test", args.e2e_limit)]
        report["e2e"] = task_e2e(read, paths, args.repeats, pause, args.peer)
    if "model" in tasks:
        if args.peer == "ours":
            report["model"] = task_model_ours(
                info, args.data, args.repeats, pause, args.model_crops, args.model_b1
            )
        elif args.peer.startswith("doctr_"):
            arch = args.peer.removeprefix("doctr_")
            report["model"] = task_model_doctr(arch, args.repeats, pause, args.model_crops, args.model_b1)
        else:
            report["model"] = None  # no batch API: end-to-end only
    report["rss_kib_peak"] = rss_kib("VmHWM")
    report["windows"] = WINDOWS
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
