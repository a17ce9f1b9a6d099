"""Training-data ablation (issue 17): one family of the v2 mix left out at a time.

Every variant starts from the shipped ``crnn-small-en`` weights (its classifier mapped onto the
space vocabulary), with the same seed, steps and schedule, from ``configs/crnn_v2_en.json`` with
one change, then is scored by ``crnn-plugin evaluate`` on the validation sets::

    python benchmarks/ablations.py --data ../shared/data --steps 600 --out benchmarks/ablations.md

Variants: ``all`` (the full v2 mix), ``no_documents`` (no ``synth_doc``), ``no_geometry`` (scene
synth without true curves, strong perspective, 3D effects, photo backgrounds and side
neighbours), ``no_lines`` (synthetic words only), ``no_new_real`` (without ic13, ic03, scans and
SROIE lines), and ``v1_recipe`` (the shipped model's mix: v1 scene synth and the three v1 real
sets, with the space vocabulary). Runs resume from their own checkpoints
(``--workdir``/<variant>), so an interrupted ablation continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ablation_common import REPO, VAL, evaluate, run_logged, score_cells, train_command

CONFIG = REPO / "configs" / "crnn_v2_en.json"
NEW_REAL = ("ic13_borndigital_train", "ic03_train", "scans_pseudo_train", "sroie_lines_train")
GEOMETRY_OFF = {"p_arc": 0, "p_strong_perspective": 0, "p_3d": 0, "p_photo": 0, "p_side_neighbors": 0}
V1_SYNTH = {**GEOMETRY_OFF, "p_line": 0, "p_curve": 0.06}


def _synth(sources: list[dict[str, Any]], kind: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in sources:
        if s["kind"] == kind:
            s = {**s, "synth_options": {**s.get("synth_options", {}), **options}}
        out.append(s)
    return out


def variants(sources: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Source lists of every variant, derived from the v2 config's ``sources``."""
    real_v1 = [s for s in sources if s["kind"] == "folder" and not s["path"].endswith(NEW_REAL)]
    return {
        "all": sources,
        "no_documents": [s for s in sources if s["kind"] != "synth_doc"],
        "no_geometry": _synth(sources, "synth", GEOMETRY_OFF),
        "no_lines": _synth(_synth(sources, "synth", {"p_line": 0}), "synth_doc", {"p_line": 0}),
        "no_new_real": [s for s in sources if not s.get("path", "").endswith(NEW_REAL)],
        "v1_recipe": _synth([s for s in sources if s["kind"] == "synth"], "synth", V1_SYNTH) + real_v1,
    }


def train_variant(name: str, sources: list[dict[str, Any]], args: argparse.Namespace) -> Path:
    """Train one variant (resuming its checkpoint) and return its ``final`` model folder."""
    out = Path(args.workdir) / name
    out.mkdir(parents=True, exist_ok=True)
    sets = {
        "out_dir": str(out),
        "init_from": "weights/crnn-small-en",  # the same start for every variant (v1, no space class)
        "max_steps": args.steps,
        "warmup_steps": min(100, args.steps // 5),
        "lr": args.lr,
        "seed": 0,
        "val_dirs": [],
        "threads": args.threads,
        "checkpoint_every_s": 120,
    }
    cmd = train_command(CONFIG, sources, str(Path(args.data)), sets)
    run_logged(cmd, out / "train.txt")
    return out / "final"


def table(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, minutes: float) -> str:
    head = (
        "| variant | IIIT5K 36-class | SVT 36-class | SVTP 36-class | SROIE line (caseless) | SROIE CER % |"
    )
    lines = [
        "# Training-data ablation (issue 17)",
        "",
        f"`python benchmarks/ablations.py --data ../shared/data --steps {args.steps}` "
        f"(the last invocation: {minutes:.0f} min on this 2-core CPU, shared with other work). "
        f"Each variant: {args.steps} steps of 32 crops from the "
        f"shipped `crnn-small-en` (classifier mapped onto the space vocabulary), lr {args.lr}, seed 0, "
        "`configs/crnn_v2_en.json` with one family left out; scored with `crnn-plugin evaluate` "
        "(PyTorch fp32, lexicon-free).",
        "",
        head,
        "|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        lines.append(f"| {name} | {score_cells(rows)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data", help="folder holding the *_train and *_test sets")
    p.add_argument("--steps", type=int, default=600, help="training steps per variant (batch 32)")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workdir", default="runs/ablations", help="one run folder per variant (resumable)")
    p.add_argument("--only", help="comma-separated variants (default: all of them)")
    p.add_argument("--out", default="benchmarks/ablations.md")
    args = p.parse_args(argv)
    missing = [v for v in [*VAL, *NEW_REAL] if not (Path(args.data) / v).is_dir()]
    if missing:
        p.error(f"--data {args.data}: missing {', '.join(missing)}")
    sources = json.loads(CONFIG.read_text())["sources"]
    todo = variants(sources)
    if args.only:
        unknown = set(args.only.split(",")) - set(todo)
        if unknown:
            p.error(f"unknown variants {sorted(unknown)}; known: {sorted(todo)}")
        todo = {k: v for k, v in todo.items() if k in args.only.split(",")}
    t0 = time.time()
    results: dict[str, list[dict[str, Any]]] = {}
    for name in variants(sources):  # rows of earlier runs stay in the table, in variant order
        done = Path(args.workdir) / name / "eval.json"
        if name not in todo and done.is_file():
            results[name] = json.loads(done.read_text())
    for name, srcs in todo.items():
        model = train_variant(name, srcs, args)
        results[name] = evaluate(model, args.data)
        results = {k: results[k] for k in variants(sources) if k in results}
        (Path(args.workdir) / name / "eval.json").write_text(json.dumps(results[name], indent=1))
        Path(args.out).write_text(table(results, args, (time.time() - t0) / 60))
        print(f"{name}: done ({(time.time() - t0) / 60:.0f} min)", flush=True)
    print(Path(args.out).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
