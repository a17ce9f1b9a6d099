"""Light install vs full install, side by side (issue 15): what `pip install crnn-plugin` costs and
how fast the CLI starts and runs.

    python3 benchmarks/light_install.py --data ../shared/data [--out benchmarks/light_install.md]
        [--full]                      # also build the full install (the 'torch' extra: ~6.5 GB, minutes)
        [--tesseract-python PATH]     # a Python with tesserocr: Tesseract 5 as two processes
        [--repeats 5]

Each install is a fresh virtualenv in a temporary folder (removed at the end unless --keep): light
is ``pip install .`` (no extras), full is ``pip install '.[torch]'`` (what ``pip install
crnn-plugin`` installed before). Measured for each: install time (venv creation + pip, wheel
build included), virtualenv size (``du``), and the installed CLI run from an empty folder (so
the checkout is not imported): ``crnn-plugin recognize examples/crops`` (10 crops) and on the
3000 IIIT5K test crops, wall time (median of ``--repeats``) and peak RSS (``os.wait4``: that
process's ``ru_maxrss``). Tesseract 5 (tesserocr, PSM 8, one API object per process, one thread
each) reads the same 3000 files as two processes, half the list each, start-up included; the
ratio is our CLI's crops/s over that. Nothing here needs torch or the project's venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESSERACT_WORKER = """
import sys, tesserocr
from pathlib import Path
from PIL import Image
tessdata = next(iter(sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata"), reverse=True)), None)
path = str(tessdata) if tessdata else None
api = tesserocr.PyTessBaseAPI(path=path, lang="eng", psm=tesserocr.PSM.SINGLE_WORD)
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    api.SetImage(Image.open(line.strip()).convert("RGB"))
    n += bool(api.GetUTF8Text() is not None)
print(n)
"""


def run(
    cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: Path | None = None
) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one command (``os.wait4``: that child's own maximum)."""
    src = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdin=src, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if stdin:
        src.close()  # type: ignore[union-attr]
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err[-2000:]}")
    return wall, usage.ru_maxrss // 1024


def du_mib(path: Path) -> float:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 2**20


def build_venv(where: Path, spec: str) -> dict[str, float]:
    """A fresh virtualenv with ``pip install -q SPEC``: seconds and MiB."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    subprocess.run([str(where / "bin" / "pip"), "install", "-q", spec], check=True, stderr=subprocess.DEVNULL)
    return {"install_s": time.perf_counter() - t0, "size_mib": du_mib(where)}


def time_cli(
    venv: Path, inputs: list[str], repeats: int, scratch: Path, stdin: Path | None = None
) -> dict[str, float]:
    """Median wall seconds and the largest peak RSS of ``crnn-plugin recognize INPUTS`` over runs
    (``-`` with ``stdin``: the paths listed in that file)."""
    cli = str(venv / "bin" / "crnn-plugin")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    walls, rss = [], []
    for i in range(repeats):
        out = scratch / f"out{i}.jsonl"
        wall, peak = run([cli, "recognize", *inputs, "-q", "-o", str(out)], cwd=scratch, env=env, stdin=stdin)
        rows = out.read_text(encoding="utf-8").count("\n")
        if rows != expected_rows(inputs, stdin):
            raise RuntimeError(f"{cli} wrote {rows} rows for {inputs} (stdin {stdin})")
        walls.append(wall)
        rss.append(peak)
    return {"wall_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls), "rss_mib": max(rss)}


def expected_rows(inputs: list[str], stdin: Path | None) -> int:
    if stdin is not None:
        return sum(1 for line in stdin.read_text(encoding="utf-8").splitlines() if line.strip())
    return sum(
        len([p for p in Path(i).iterdir() if p.suffix == ".png"]) if Path(i).is_dir() else 1 for i in inputs
    )


def time_tesseract(python: str, paths: list[str], repeats: int, scratch: Path) -> dict[str, float]:
    """Wall seconds (median) of Tesseract reading ``paths`` as two processes, half the list each."""
    worker = scratch / "tesseract_worker.py"
    worker.write_text(TESSERACT_WORKER)
    halves = [paths[: len(paths) // 2], paths[len(paths) // 2 :]]
    lists = []
    for k, half in enumerate(halves):
        lists.append(scratch / f"half{k}.txt")
        lists[-1].write_text("\n".join(half) + "\n")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen([python, str(worker), str(f)], env=env, stdout=subprocess.DEVNULL) for f in lists
        ]
        if any(p.wait() != 0 for p in procs):
            raise RuntimeError("a Tesseract worker failed")
        walls.append(time.perf_counter() - t0)
    return {"wall_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls)}


def training_running() -> list[str]:
    """Command lines of crnn_plugin trainings running now (they distort every timing here)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "crnn_plugin.train" in cmd or "crnn-plugin train" in cmd:
            found.append(cmd[:100])
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with iiit5k_test/")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "light_install.md")
    ap.add_argument("--full", action="store_true", help="also build and time the full install (torch)")
    ap.add_argument("--tesseract-python", default=None, help="a Python with tesserocr (benchmarks/README.md)")
    ap.add_argument(
        "--repeats", type=int, default=5, help="runs per CLI timing (3000 crops: max(3, repeats // 2))"
    )
    ap.add_argument("--keep", type=Path, default=None, help="build the venvs here and keep them")
    args = ap.parse_args()
    folder = args.data / "iiit5k_test"
    lines = (folder / "labels.tsv").read_text(encoding="utf-8").splitlines()
    iiit = [str(folder / line.split("\t")[0]) for line in lines if line.strip()]
    crops = str(ROOT / "examples" / "crops")
    busy = training_running()
    base = args.keep or Path(tempfile.mkdtemp(prefix="crnn-light-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="crnn-light-run-"))
    (scratch / "list.txt").write_text("\n".join(iiit) + "\n")
    rows: dict[str, dict[str, float]] = {}
    try:
        installs = [("light", str(ROOT))] + ([("full", f"{ROOT}[torch]")] if args.full else [])
        for name, spec in installs:
            venv = base / f"venv-{name}"
            shutil.rmtree(venv, ignore_errors=True)
            print(f"{name}: installing {spec} ...", file=sys.stderr, flush=True)
            row = build_venv(venv, spec)
            time_cli(venv, [crops], 1, scratch)  # warm the page cache and the .pyc files once
            ten = time_cli(venv, [crops], args.repeats, scratch)
            big = time_cli(venv, ["-"], max(3, args.repeats // 2), scratch, stdin=scratch / "list.txt")
            row.update({f"ten_{k}": v for k, v in ten.items()})
            row.update({f"iiit_{k}": v for k, v in big.items()})
            row["iiit_crops_per_s"] = len(iiit) / big["wall_s"]
            rows[name] = row
            print(f"{name}: {row}", file=sys.stderr, flush=True)
        tess = None
        if args.tesseract_python:
            tess = time_tesseract(args.tesseract_python, iiit, max(3, args.repeats // 2), scratch)
            tess["crops_per_s"] = len(iiit) / tess["wall_s"]
            print(f"tesseract: {tess}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    args.out.write_text(report(rows, tess, len(iiit), args, busy), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


def report(
    rows: dict[str, dict[str, float]],
    tess: dict[str, float] | None,
    n: int,
    args: argparse.Namespace,
    busy: list[str],
) -> str:
    cmd = "python3 benchmarks/light_install.py --data ../shared/data" + (" --full" if args.full else "")
    if args.tesseract_python:
        cmd += " --tesseract-python PEERS_PYTHON"
    out = [
        "# Light install vs full install",
        "",
        f"`{cmd}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]})",
        "",
    ]
    if busy:
        out += [
            f"**Training was running during these timings ({len(busy)} process(es)): the times and "
            "crops/s below are distorted (slower) and must be re-measured on a quiet machine.**",
            "",
        ]
    out += ["| | " + " | ".join(rows) + " |", "|---|" + "---|" * len(rows)]

    def line(label: str, fmt: str, key: str) -> None:
        out.append(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in rows.values()) + " |")

    line("virtualenv size (MiB)", "{:.0f}", "size_mib")
    line("install time: venv + pip (s)", "{:.1f}", "install_s")
    line("`recognize examples/crops` (10 crops), wall s (median)", "{:.2f}", "ten_wall_s")
    line("  peak RSS (MiB)", "{:.0f}", "ten_rss_mib")
    line(f"`recognize - < iiit5k_test paths` ({n} crops), wall s (median)", "{:.2f}", "iiit_wall_s")
    line("  crops/s", "{:.0f}", "iiit_crops_per_s")
    line("  peak RSS (MiB)", "{:.0f}", "iiit_rss_mib")
    if tess is not None:
        out.append(
            f"| Tesseract 5 as two processes ({n} crops), wall s / crops/s | "
            + " | ".join(f"{tess['wall_s']:.2f} / {tess['crops_per_s']:.0f}" for _ in rows)
            + " |"
        )
        ratios = [f"{r['iiit_crops_per_s'] / tess['crops_per_s']:.2f}x" for r in rows.values()]
        out.append("| our CLI / Tesseract (two processes) | " + " | ".join(ratios) + " |")
    out += [
        "",
        "Light: `pip install .` (no extras; ONNX Runtime int8, numpy CTC). Full: `pip install '.[torch]'` "
        "(the CUDA build of torch on Linux). Both CLIs run the same int8 export on the CPU; the full one "
        "does not import torch for it (no NVIDIA driver here).",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
