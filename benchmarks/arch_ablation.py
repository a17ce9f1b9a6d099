"""Architecture ablation (issue 18): rectifier, widths and input height, same data and budget.

Every candidate is ``crnn_small`` with one change, warm-started from the shipped
``crnn-small-en-v2`` (where shapes differ, :func:`crnn_plugin.widen.widen_weights` keeps the old
function: wider layers are copied into their leading slices, a new rectifier starts as the
identity), trained with the same seed, steps and schedule on the ``configs/crnn_v2_en.json`` mix,
then scored by ``crnn-plugin evaluate`` (PyTorch fp32) on the validation sets and timed::

    python benchmarks/arch_ablation.py --data ../shared/data --steps 400 --out benchmarks/arch_ablation.md

Candidates: ``base`` (``crnn_small`` as is, the control: the same fine-tuning), ``tps`` (+ the
thin-plate-spline rectifier), ``wide`` (conv channels x1.5, LSTM hidden 192) and ``h48`` (input
height 48). Speed: CPU forward of a batch of 64 ``3 x H x 128`` crops at the candidate's height,
float32 PyTorch and ONNX Runtime on one thread, rounds interleaved across candidates, relative to
``base`` timed in the same run. Runs resume from their own checkpoints (``--workdir``/<name>).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from ablation_common import REPO, VAL, evaluate, run_logged, score_cells, train_command

CONFIG = REPO / "configs" / "crnn_v2_en.json"
INIT = "weights/crnn-small-en-v2"
CANDIDATES: dict[str, dict[str, Any]] = {
    "base": {},
    "tps": {"rectifier": "tps"},
    "wide": {"conv_channels": [48, 96, 192, 192, 384, 384, 384], "hidden_size": 192},
    "h48": {"input_height": 48},
}


def train_candidate(name: str, args: argparse.Namespace) -> Path:
    """Train one candidate (resuming its checkpoint) and return its ``final`` model folder."""
    out = Path(args.workdir) / name
    out.mkdir(parents=True, exist_ok=True)
    sources = json.loads(CONFIG.read_text())["sources"]
    sets = {
        "model": CANDIDATES[name],
        "out_dir": str(out),
        "init_from": INIT,
        "max_steps": args.steps,
        "warmup_steps": min(100, args.steps // 5),
        "lr": args.lr,
        "seed": 0,
        "val_dirs": [],
        "workers": 1,
        "threads": 1,
        "checkpoint_every_s": 120,
    }
    cmd = train_command(CONFIG, sources, str(Path(args.data)), sets)
    if not (out / "final" / "model.safetensors").is_file():
        run_logged(cmd, out / "train.txt")
    return out / "final"


def speed(models: dict[str, Path], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Crops per second of a batch of 64 ``3 x H x 128`` crops, float32 PyTorch and ONNX Runtime
    on one thread; rounds interleaved across candidates (the machine's load is shared)."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from crnn_plugin.hub import from_pretrained
    from crnn_plugin.onnx_export import export_onnx

    torch.set_num_threads(1)
    runners: dict[str, dict[str, Any]] = {}
    params: dict[str, float] = {}
    for name, folder in models.items():
        net = from_pretrained(str(folder)).float().eval()
        params[name] = sum(p.numel() for p in net.parameters()) / 1e6
        x = torch.randn(64, 3, net.config.input_height, 128)
        onnx_path = export_onnx(net, Path(args.workdir) / name / "model.fp32.onnx")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        xa = x.numpy()
        with torch.inference_mode():
            diff = float(np.abs(sess.run(None, {"images": xa})[0] - net(x).numpy()).max())

        def run_torch(net: Any = net, x: torch.Tensor = x) -> None:
            with torch.inference_mode():
                net(x)

        def run_onnx(sess: Any = sess, xa: np.ndarray = xa) -> None:
            sess.run(None, {"images": xa})

        runners[name] = {"torch": run_torch, "onnx": run_onnx, "diff": diff}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.speed_rounds):
        for name, r in runners.items():
            for kind in ("torch", "onnx"):
                r[kind]()  # warm
                t0 = time.perf_counter()
                r[kind]()
                times.setdefault((name, kind), []).append(time.perf_counter() - t0)
    out = {}
    for name, r in runners.items():
        out[name] = {
            "params_m": params[name],
            "torch_cps": 64 / statistics.median(times[(name, "torch")]),
            "onnx_cps": 64 / statistics.median(times[(name, "onnx")]),
            "onnx_max_diff": r["diff"],
        }
    return out


def table(results: dict[str, Any], speeds: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    head = (
        "| candidate | params (M) | IIIT5K 36-class | SVT 36-class | SVTP 36-class | SROIE line (caseless) "
        "| SROIE CER % | torch fp32 crops/s (rel.) | ONNX fp32 crops/s (rel.) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    ref = speeds.get("base")
    for name, rows in results.items():
        sp = speeds.get(name)
        cells = ["-", "-", "-"]
        if sp:
            cells[0] = f"{sp['params_m']:.2f}"
            for i, k in ((1, "torch_cps"), (2, "onnx_cps")):
                rel = f" ({sp[k] / ref[k]:.2f}x)" if ref else ""
                cells[i] = f"{sp[k]:.0f}{rel}"
        lines.append(f"| {name} | {cells[0]} | {score_cells(rows)} | {cells[1]} | {cells[2]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data", help="folder holding the *_train and *_test sets")
    p.add_argument("--steps", type=int, default=400, help="training steps per candidate (batch 32)")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--speed-rounds", type=int, default=7)
    p.add_argument("--workdir", default="runs/arch_ablation", help="one run folder per candidate (resumable)")
    p.add_argument("--only", help="comma-separated candidates (default: all of them)")
    p.add_argument("--reference", action="store_true", help="also score the untouched starting weights")
    p.add_argument("--out", default="runs/arch_ablation/table.md")
    args = p.parse_args(argv)
    missing = [v for v in VAL if not (Path(args.data) / v).is_dir()]
    if missing:
        p.error(f"--data {args.data}: missing {', '.join(missing)}")
    todo = list(CANDIDATES) if not args.only else args.only.split(",")
    unknown = set(todo) - set(CANDIDATES)
    if unknown:
        p.error(f"unknown candidates {sorted(unknown)}; known: {sorted(CANDIDATES)}")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    results: dict[str, Any] = {}
    models: dict[str, Path] = {}
    if args.reference:
        done = work / "reference_eval.json"
        if not done.is_file():
            done.write_text(json.dumps(evaluate(REPO / INIT, args.data), indent=1))
        results["v2 (step 0)"] = json.loads(done.read_text())
    for name in todo:
        models[name] = train_candidate(name, args)
        done = work / name / "eval.json"
        if not done.is_file():
            done.write_text(json.dumps(evaluate(models[name], args.data), indent=1))
        results[name] = json.loads(done.read_text())
        print(f"{name}: done ({(time.time() - t0) / 60:.0f} min)", flush=True)
    speeds = speed(models, args)
    (work / "speed.json").write_text(json.dumps(speeds, indent=1))
    Path(args.out).write_text(table(results, speeds, args))
    print(Path(args.out).read_text(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
