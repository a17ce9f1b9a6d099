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
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    SETS,
    WINDOWS,
    data_folder,
    dist_version,
    normalize36,
    parse_sets,
    paused_training,
    read_labels,
    resume_training,
    summarize,
)

logger = logging.getLogger("benchmarks.run_all")

HERE = Path(__file__).resolve().parent
PEERS_VENV_PYTHON = "/work/peers-venv/bin/python"
ACC_PEERS = ("tesseract", "rapidocr", "rapidocr_v4", "easyocr")
DOCTR_PEERS = ("doctr_crnn_vgg16_bn", "doctr_crnn_mobilenet_v3_small")
SET_NAMES = {
    "iiit5k_test": "IIIT5K test",
    "svt_test": "SVT test",
    "svtp_test": "SVT-P test",
    "sroie_lines_val": "SROIE lines val",
}
LABELS = {
    "ours": "crnn_plugin (ours)",
    "tesseract": "Tesseract 5 (tesserocr, psm 8 words / psm 7 lines)",
    "rapidocr": "RapidOCR 3.10 PP-OCRv6 (rec only)",
    "rapidocr_v4": "RapidOCR 1.4.4 PP-OCRv4 (rec only)",
    "easyocr": "EasyOCR english_g2 (rec only)",
    "doctr_crnn_vgg16_bn": "docTR crnn_vgg16_bn (random weights)",
    "doctr_crnn_mobilenet_v3_small": "docTR crnn_mobilenet_v3_small (random weights)",
}


# -- machine ---------------------------------------------------------------------------------------
def machine_info(threads: int) -> dict[str, Any]:
    """CPU model, cores, clock, ISA and the fp32 peak FLOP/s assumed for ``threads`` cores."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    fields = {}
    for line in lscpu.splitlines():
        key, _, val = line.partition(":")
        fields[key.strip()] = val.strip()
    flags = set(fields.get("Flags", "").split())
    mhz = _clock_mhz(fields)
    avx512 = "avx512f" in flags
    fma = "fma" in flags
    flops_cycle = 64 if avx512 else (32 if "avx2" in flags and fma else 16)
    ghz = mhz / 1000
    zen4 = fields.get("Vendor ID") == "AuthenticAMD" and fields.get("CPU family") == "25" and avx512
    info: dict[str, Any] = {
        "model_name": fields.get("Model name", "?"),
        "vendor": fields.get("Vendor ID", "?"),
        "family_model": f"family {fields.get('CPU family', '?')}, model {fields.get('Model', '?')}",
        "cpus": int(fields.get("CPU(s)", "0") or 0),
        "threads_used": threads,
        "mhz": mhz,
        "isa": ", ".join(
            f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16") if f in flags
        ),
        "flops_per_cycle": flops_cycle,
        "peak_gflops": threads * ghz * flops_cycle,
        "peak_rule": (
            f"{threads} cores x {ghz:.3f} GHz x {flops_cycle} FP32 FLOP/cycle "
            f"({'AVX-512: 2 FMA units x 16 fp32 lanes x 2' if avx512 else 'AVX2 FMA: 2 x 8 x 2'})"
        ),
        "zen4": zen4,
        "torch": dist_version("torch"),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
    if zen4:
        # Zen 4 executes 512-bit FMAs on 256-bit datapaths: 32 fp32 FLOP/cycle per core in practice.
        info["peak_gflops_zen4"] = threads * ghz * 32
    return info


def _clock_mhz(fields: dict[str, str]) -> float:
    """Nominal clock: lscpu's max MHz, else /proc/cpuinfo's ``cpu MHz``, else BogoMIPS / 2."""
    for key in ("CPU max MHz", "CPU MHz"):
        if fields.get(key):
            return float(fields[key])
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
        if m:
            return float(m.group(1))
    except OSError:
        pass
    return float(fields.get("BogoMIPS", "0") or 0) / 2


# -- subprocesses ----------------------------------------------------------------------------------
def run_child(
    cmd: list[str], timeout: float, stdout_path: Path | None = None, resume: bool = True
) -> tuple[int, float, int]:
    """Run ``cmd``; return (exit code, wall seconds, peak RSS of that child in KiB via ``wait4``).

    stderr goes to this process's stderr (logs); stdout to ``stdout_path`` or /dev/null. With
    ``resume``, training is resumed afterwards in any case, even if the child was killed while it
    had paused it (callers inside a :func:`paused_training` window pass ``resume=False``).
    """
    logger.info("$ %s", shlex.join(cmd))
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, stdout=out, stderr=sys.stderr)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                logger.error("timeout after %.0f s: killing %d", timeout, proc.pid)
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode, wall, int(usage.ru_maxrss)
    finally:
        if stdout_path:
            out.close()  # type: ignore[union-attr]
        if resume:
            resume_training()


def run_worker(python: str, peer: str, extra: list[str], timeout: float, data: Path) -> dict[str, Any] | None:
    """One ``peers.py`` process; its JSON report plus the child's wall time and peak RSS."""
    cmd = [python, str(HERE / "peers.py"), peer, "--data", str(data), *extra]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        rc, wall, maxrss = run_child(cmd, timeout, out)
        text = out.read_text().strip()
    if rc != 0 or not text:
        logger.error("%s failed (exit %d)", peer, rc)
        return None
    report: dict[str, Any] = json.loads(text.splitlines()[-1])
    report["process_wall_s"] = wall
    report["process_maxrss_kib"] = maxrss
    return report


def time_cli(model: str, data: Path, repeats: int, fp32: bool, timeout: float) -> dict[str, Any]:
    """Time ``crnn-plugin recognize <iiit5k_test/test> -o X.jsonl`` end to end, ``repeats`` times."""
    exe = Path(sys.executable).with_name("crnn-plugin")
    folder = data / "iiit5k_test" / "test"
    n = sum(1 for p in folder.iterdir() if p.is_file())
    rates: list[float] = []
    walls: list[float] = []
    rss: list[int] = []
    acc = None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.jsonl"
        cmd = [str(exe), "recognize", str(folder), "-o", str(out), "--model", model, "-q"]
        if fp32:
            cmd.append("--fp32")
        one = [str(exe), "recognize", str(min(folder.iterdir())), "-o", str(Path(tmp) / "one.jsonl")]
        one += cmd[5:]
        starts: list[float] = []
        with paused_training(True, "CLI" + (" --fp32" if fp32 else "")):
            for _ in range(repeats):
                out.unlink(missing_ok=True)
                rc, wall, maxrss = run_child(cmd, timeout, resume=False)
                if rc != 0:
                    raise RuntimeError(f"CLI failed with exit code {rc}")
                walls.append(wall)
                rates.append(n / wall)
                rss.append(maxrss)
            acc = _score_cli_output(out, data / "iiit5k_test")
            for _ in range(repeats):  # start-up cost: the same command on a single crop
                rc, wall, _ = run_child(one, timeout, resume=False)
                if rc != 0:
                    raise RuntimeError(f"CLI on one crop failed with exit code {rc}")
                starts.append(wall)
    display = [
        "crnn-plugin",
        "recognize",
        str(folder),
        "-o",
        "/tmp/x.jsonl",
        "--model",
        model,
        "-q",
        *(["--fp32"] if fp32 else []),
    ]
    return {
        "cmd": shlex.join(display),
        "n": n,
        "crops_per_s": summarize(rates).to_dict(),
        "wall_s": summarize(walls).to_dict(),
        "maxrss_kib": max(rss),
        "acc36": acc,
        "startup_s": summarize(starts).to_dict(),
        "crops_per_s_after_startup": n / (summarize(walls).median - summarize(starts).median),
    }


def _score_cli_output(path: Path, folder: Path) -> float | None:
    """36-class accuracy of a CLI jsonl output against ``labels.tsv`` (consistency check)."""
    if not path.is_file():
        return None
    preds = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        preds[os.path.realpath(row["path"])] = row.get("text") or ""
    rows = read_labels(folder)
    ok = sum(normalize36(preds.get(os.path.realpath(p), "")) == normalize36(lab) for p, lab in rows)
    return ok / max(len(rows), 1)


# -- report ----------------------------------------------------------------------------------------
def _fmt_rate(t: dict[str, Any] | None) -> str:
    if not t:
        return "n/a"
    return f"{t['median']:.1f} ({t['min']:.1f}–{t['max']:.1f})"


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if not a or not b or not b.get("median"):
        return "n/a"
    return f"{a['median'] / b['median']:.2f}×"


def _mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.0f} MiB"


def _acc_rows(res: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(peer, result-key suffix, label suffix) of every accuracy row: ours in each precision, peers."""
    ours = res["workers"].get("ours") or {}
    acc = ours.get("accuracy") or {}
    first = res["sets"][0]
    rows: list[tuple[str, str, str]] = [("ours", "", "")]
    if acc.get(first + "@torch"):
        rows.append(("ours", "@torch", f" (PyTorch {ours['info'].get('torch_precision')})"))
    if acc.get(first + "@fp32"):
        rows.append(("ours", "@fp32", " (fp32)"))
    return rows + [(p, "", "") for p in ACC_PEERS]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _accuracy_tables(add: Callable[[str], None], res: dict[str, Any]) -> None:
    """The accuracy table (every set side by side) and the case-sensitive one."""
    sets: list[str] = res["sets"]
    w = res["workers"]
    ours = w.get("ours") or {}
    sizes: dict[str, int] = {}
    for rep in w.values():
        for s in sets:
            r = ((rep or {}).get("accuracy") or {}).get(s)
            if r:
                sizes.setdefault(s, r["n"])
    words = [s for s in sets if SETS[s] == "word"]
    lines = [s for s in sets if SETS[s] == "line"]
    add("## Accuracy\n")
    add(
        "Word sets: 36-class protocol (lower-case, keep only a-z0-9, exact match). Line sets: caseless "
        'exact line match with single spaces (`" ".join(s.split()).casefold()` on both sides) and '
        "character error rate (summed Levenshtein edits / summed reference length, same normalisation; "
        "lower is better). No lexicon. Tesseract reads word crops with psm 8 (single word) and line "
        "crops with psm 7 (single line); RapidOCR and EasyOCR run their recognizer alone on the whole "
        "crop (no detection).\n"
    )
    head = [f"{SET_NAMES[s]} ({sizes.get(s, '?')}) 36-class" for s in words]
    for s in lines:
        head += [
            f"{SET_NAMES[s]} ({sizes.get(s, '?')}) line acc.",
            f"{SET_NAMES[s]} ({sizes.get(s, '?')}) CER",
        ]
    add("| recognizer | " + " | ".join(head) + " | model / version |")
    add("| --- | " + " | ".join("---" for _ in head) + " | --- |")
    tprec = ours.get("info", {}).get("torch_precision")
    cs_rows: list[str] = []
    for peer, suffix, label_extra in _acc_rows(res):
        rep = w.get(peer)
        if not rep or "accuracy" not in rep:
            why = "not run" if peer not in w else "failed"
            add(f"| {LABELS[peer]}{label_extra} | " + " | ".join(why for _ in head) + " | see notes |")
            cs_rows.append(f"| {LABELS[peer]}{label_extra} | " + " | ".join(why for _ in words) + " |")
            continue
        a = rep["accuracy"]
        cells: list[str] = []
        cs_cells: list[str] = []
        for s in words:
            r = a.get(s + suffix)
            cells.append(f"{_pct(r['acc36'])} ({r['correct']})" if r else "n/a")
            cs_cells.append(
                f"{_pct(r['acc_cs'])} ({r['correct_cs']})" if r and r["acc_cs"] is not None else "n/a"
            )
        for s in lines:
            r = a.get(s + suffix)
            cells += [f"{_pct(r['acc_line'])} ({r['correct_line']})", _pct(r["cer"])] if r else ["n/a", "n/a"]
        prec = ""
        if peer == "ours":
            prec = {"": f"; {rep['info'].get('default_precision', '?')} (default)", "@fp32": "; fp32"}.get(
                suffix, f"; PyTorch {tprec}"
            )
        add(f"| {LABELS[peer]}{label_extra} | " + " | ".join(cells) + f" | {rep['info']['model']}{prec} |")
        cs_rows.append(f"| {LABELS[peer]}{label_extra} | " + " | ".join(cs_cells) + " |")
    if words:
        add(
            "\nCase-sensitive word accuracy: exact match with case and punctuation kept (single spaces), "
            "against `labels_casesensitive.tsv` (IIIT5K, SVT: Long & Yao's re-annotation) or the labels "
            "themselves where they are case-sensitive (SVT-P); as `crnn_plugin.evaluate` scores it. A "
            "recognizer without lower-case letters cannot score here.\n"
        )
        add("| recognizer | " + " | ".join(f"{SET_NAMES[s]} case-sensitive" for s in words) + " |")
        add("| --- | " + " | ".join("---" for _ in words) + " |")
        for row in cs_rows:
            add(row)
    if lines and ours.get("info", {}).get("space_in_vocab") is False:
        add(
            f"\nOur model `{res['model']}` has no space class: it reads a line as one run of characters, "
            "so its exact line match counts only one-word lines; its CER counts each missing space as "
            "one edit."
        )
    add("\ndocTR models: speed only (their weights cannot be downloaded here; random weights).\n")


def write_markdown(path: Path, res: dict[str, Any]) -> None:
    """Render every result into one markdown file."""
    m = res["machine"]
    reps = res["repeats"]
    sub = res["e2e_limit"]
    w = res["workers"]
    ours = w.get("ours") or {}
    lines: list[str] = []
    add = lines.append
    add("# crnn_plugin vs OCR peers: accuracy and CPU speed\n")
    add(f"Generated {res['date']} by `benchmarks/run_all.py` in {res['total_wall_s']:.0f} s of wall time.\n")
    add("```")
    add(res["command"])
    add("```\n")
    add("## Machine\n")
    add("| item | value |")
    add("| --- | --- |")
    add(f"| CPU (`lscpu` model name) | {m['model_name']} ({m['vendor']}, {m['family_model']}) |")
    add(f"| cores | {m['cpus']} logical CPUs; every measurement uses {m['threads_used']} threads |")
    add(f"| clock | {m['mhz']:.0f} MHz (nominal) |")
    add(f"| ISA | {m['isa']} |")
    add(f"| torch | {m['torch']} (CPU), Python {m['python']}, Linux {m['kernel']} |")
    add(f"| our model | `{res['model']}` ({ours.get('info', {}).get('model', '?')}) |")
    add("")
    if any(int(w.get("paused", 0)) for w in res.get("windows") or []):
        add(
            "The background training run was stopped (SIGSTOP) during every timed section and resumed "
            "(SIGCONT) right after; the accuracy passes were timed too and ran paused.\n"
        )
    else:
        add("No training run was found to pause while timing (foreign CPU load per window below).\n")

    _accuracy_tables(add, res)

    # end-to-end
    cli = res.get("cli") or {}
    cli32 = res.get("cli_fp32") or {}
    ours_e2e = (ours.get("e2e") or {}).get("crops_per_s")
    cli_rate = cli.get("crops_per_s")
    add("## End-to-end throughput (image files on disk -> text, decoding included)\n")
    add(
        f"Crop by crop (one call per file) on the first {sub} IIIT5K test crops, {reps} repeats, "
        "median (min–max) crops/s. Ratios: peer ÷ ours (>1 = faster than ours). "
        "The accuracy-pass column is the single timed accuracy pass over the IIIT5K test crops.\n"
    )
    add(
        f"| recognizer | crops/s, first {sub}, crop by crop | ratio to ours (crop by crop) "
        "| ratio to our CLI | crops/s, IIIT5K accuracy pass (1 run) | load s | peak RSS of the worker |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- |")
    for peer in ("ours", *ACC_PEERS, *DOCTR_PEERS):
        rep = w.get(peer)
        if not rep:
            add(f"| {LABELS[peer]} | {'not run' if peer not in w else 'failed'} | | | | | |")
            continue
        rate = (rep.get("e2e") or {}).get("crops_per_s")
        acc = (rep.get("accuracy") or {}).get("iiit5k_test")
        full = f"{acc['n'] / acc['seconds']:.1f}" if acc else "–"
        if peer == "ours" and acc:
            full += " (batched)"
        add(
            f"| {LABELS[peer]} | {_fmt_rate(rate)} | {_ratio(rate, ours_e2e)} | {_ratio(rate, cli_rate)} "
            f"| {full} | {rep['load_s']:.1f} | {_mib(rep.get('process_maxrss_kib'))} |"
        )
    for c, label in ((cli, "default precision"), (cli32, "`--fp32`")):
        if c:
            add(
                f"| **our CLI**, {label}: all {c['n']} crops, {reps} runs, process start included "
                f"| {_fmt_rate(c['crops_per_s'])} | | 1.00× | wall {_fmt_rate(c['wall_s'])} s "
                f"| | {_mib(c['maxrss_kib'])} |"
            )
    if cli:
        add(
            f"\nCLI command: `{cli['cmd']}` (IIIT5K accuracy from its output: {100 * cli['acc36']:.2f} %). "
            f"The same command on a single crop takes {_fmt_rate(cli['startup_s'])} s (Python start-up, "
            f"imports, weights); without it the CLI runs at about {cli['crops_per_s_after_startup']:.0f} "
            "crops/s.\n"
        )

    # model throughput
    mo = ours.get("model") or {}
    add("## Model throughput (forward only, no image decoding or CTC decoding, 2 threads)\n")
    add(
        f"crops/s, median (min–max) of {reps} repeats. *Real crops*: IIIT5K test crops resized to height "
        f"32 keeping the aspect ratio (mean width {mo.get('mean_width', 0):.0f} px), batch 64 = "
        "the Recognizer's own batches (batch_size 64: at most 64 crops of one padded width, a multiple "
        "of 16 px). *3x32x128*: fixed-size random "
        "input (docTR's input size). Ratio = model ÷ ours at the same input and batch "
        "(ours in its default precision).\n"
    )
    add("| model | input | batch 1 | batch 64 | ratio b1 | ratio b64 | params |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    if mo:
        names = {
            "default": f" ({ours['info'].get('default_precision', '?')}, default)",
            "torch": f" (PyTorch {ours['info'].get('torch_precision')} autocast)",
            "fp32": " (fp32)",
        }
        for prec in [p for p in ("default", "torch", "fp32") if f"real_b1@{p}" in mo]:
            name = "ours" + names[prec]
            for inp, key in (("real crops", "real"), ("3x32x128", "fixed128")):
                b1 = mo.get(f"{key}_b1@{prec}", {}).get("crops_per_s")
                b64 = mo.get(f"{key}_b64@{prec}", {}).get("crops_per_s")
                r1 = mo.get(f"{key}_b1@default", {}).get("crops_per_s")
                r64 = mo.get(f"{key}_b64@default", {}).get("crops_per_s")
                add(
                    f"| {name} | {inp} | {_fmt_rate(b1)} | {_fmt_rate(b64)} | {_ratio(b1, r1)} "
                    f"| {_ratio(b64, r64)} | {mo['params'] / 1e6:.2f} M |"
                )
    for peer in DOCTR_PEERS:
        dm = (w.get(peer) or {}).get("model")
        if not dm:
            add(f"| {LABELS[peer]} | 3x32x128 | {'not run' if peer not in w else 'failed'} | | | | |")
            continue
        b1 = dm["fixed128_b1"]["crops_per_s"]
        b64 = dm["fixed128_b64"]["crops_per_s"]
        r1 = mo.get("fixed128_b1@default", {}).get("crops_per_s")
        r64 = mo.get("fixed128_b64@default", {}).get("crops_per_s")
        add(
            f"| {LABELS[peer]} | 3x32x128 | {_fmt_rate(b1)} | {_fmt_rate(b64)} | {_ratio(b1, r1)} "
            f"| {_ratio(b64, r64)} | {dm['params'] / 1e6:.2f} M |"
        )
    add(
        "\nTesseract, RapidOCR and EasyOCR: no batch API used here, end-to-end numbers only. "
        "docTR figures use `exportable=True` (logits only, no CTC decoding).\n"
    )

    # FLOPs
    if mo:
        f = mo["flops_32x128"]
        peak = m["peak_gflops"]
        add("## Our model: FLOPs and efficiency\n")
        add(
            f"FLOPs (2 × MACs) per 3x32x128 crop: **{f['total'] / 1e6:.0f} MFLOP** = "
            f"conv {f['conv'] / 1e6:.0f} + BiLSTM {f['lstm'] / 1e6:.0f} + linear {f['linear'] / 1e6:.1f} "
            f"({f['frames']} frames). "
            "`torch.utils.flop_counter.FlopCounterMode` gives "
            f"{f['counter_conv_linear'] / 1e6:.0f} MFLOP for conv + linear (it does not count `nn.LSTM`); "
            "the LSTM is counted analytically "
            "(4 gates × hidden × (input + hidden) MACs per frame, direction and layer).\n"
        )
        dprec = ours["info"].get("default_precision", "fp32")
        add(
            f"Peak assumed: {m['peak_rule']} = **{peak:.0f} GFLOP/s** fp32 at the nominal clock (a VM "
            "reports the TSC clock; boost clocks, if any, would lower every fraction below)."
            + (
                f" This CPU is AMD Zen 4, which executes 512-bit FMAs on 256-bit datapaths, so the "
                f"practical fp32 peak is half that ({m['peak_gflops_zen4']:.0f} GFLOP/s, 32 FLOP/cycle); "
                "both fractions are shown for fp32 (bf16 throughput on Zen 4 is not modelled here: "
                "compare bf16 rows with the measured bf16 GEMM instead)."
                if m.get("zen4")
                else ""
            )
            + (
                f" Rows in {dprec} (the Recognizer's default here) are compared with a nominal bf16 peak "
                "twice the fp32 one (AVX512-BF16 `vdpbf16ps`: 2 products per fp32 lane)."
                if dprec == "bfloat16"
                else ""
            )
            + (
                " int8 rows (convolutions in int8 through ONNX Runtime, BiLSTM weights int8 with "
                "dynamically quantized activations, classifier fp32) are compared "
                "with a nominal int8 peak four times the fp32 one (AVX512-VNNI `vpdpbusd`: 4 products per "
                "32-bit lane); bf16 rows with twice the fp32 peak."
                if dprec == "int8"
                else ""
            )
            + " FLOP/crop of the real-crop rows is that of the padded inputs actually run.\n"
        )
        gemm = mo.get("gemm_gflops") or {}
        if gemm:
            add(
                "Measured ceiling for comparison: a 2048×2048 `torch.mm` with the same 2 threads reaches "
                + ", ".join(f"**{v:.0f} GFLOP/s** in {k}" for k, v in gemm.items())
                + " (last column: achieved ÷ that GEMM rate at the same precision).\n"
            )
        add(
            "| case | FLOP/crop | crops/s (median) | achieved GFLOP/s | peak used | % of peak "
            "| % of Zen 4 effective peak | % of measured GEMM |"
        )
        add("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for prec in [p for p in ("default", "torch", "fp32") if f"real_b1@{p}" in mo]:
            label = {"default": dprec, "torch": ours["info"].get("torch_precision"), "fp32": "fp32"}[prec]
            mult = {"bfloat16": 2, "int8": 4}.get(str(label), 1)
            for key in ("real_b1", "real_b64", "fixed128_b1", "fixed128_b64"):
                c = mo.get(f"{key}@{prec}")
                if not c:
                    continue
                g = c["gflops_per_s_median"]
                z = f"{100 * g / m['peak_gflops_zen4']:.1f} %" if m.get("zen4") and mult == 1 else "–"
                gm = gemm.get(label if label != "fp32" else "float32")
                gx = f"{100 * g / gm:.0f} %" if gm else "–"
                add(
                    f"| {key} @ {label} | {c['flops_per_crop'] / 1e6:.0f} M "
                    f"| {c['crops_per_s']['median']:.1f} | {g:.1f} | {mult * peak:.0f} GFLOP/s "
                    f"| {100 * g / (mult * peak):.1f} % | {z} | {gx} |"
                )
        add("")

    # memory
    mem = (res.get("memory") or {}).get("memory")
    add("## Memory (peak resident set size)\n")
    add("| process | peak RSS |")
    add("| --- | --- |")
    if cli:
        add(
            f"| our CLI over the {cli['n']} IIIT5K crops (`wait4` ru_maxrss of the child) "
            f"| {_mib(cli['maxrss_kib'])} |"
        )
    if cli32:
        add(f"| our CLI `--fp32` over the {cli32['n']} crops | {_mib(cli32['maxrss_kib'])} |")
    if mem:
        add(
            f"| model alone: python + `import torch, crnn_plugin` | {_mib(mem['after_import_kib'])} "
            f"(bare python {_mib(mem['python_kib'])}) |"
        )
        add(
            f"| model alone: + weights loaded ({mem['weights_bytes'] / 2**20:.1f} MiB of parameters) "
            f"| {_mib(mem['after_load_kib'])} |"
        )
        add(
            f"| model alone: + {mem['n_crops']} crops pre-processed and recognised at batch 64, peak "
            f"| {_mib(mem['peak_kib'])} |"
        )
    add("")
    wins = res.get("windows") or []
    if wins:
        worst = max(wins, key=lambda x: float(x["foreign_cpu"]))
        add("## Timed windows (training paused)\n")
        add(
            f"{len(wins)} windows, {sum(float(x['seconds']) for x in wins):.0f} s in all, the longest "
            f"{max(float(x['seconds']) for x in wins):.0f} s. *Foreign CPU load*: CPU time of every other "
            "process (and hypervisor steal) during the window, as a share of both cores; anything well "
            f"above 0 % means the machine was not quiet and that window's speed is pessimistic. Worst: "
            f"{100 * float(worst['foreign_cpu']):.0f} % ({worst['what']}).\n"
        )
        add("| window | seconds | foreign CPU load |")
        add("| --- | --- | --- |")
        for x in wins:
            flag = " ⚠" if float(x["foreign_cpu"]) > 0.1 else ""
            add(f"| {x['what']} | {float(x['seconds']):.1f} | {100 * float(x['foreign_cpu']):.0f} %{flag} |")
        add("")
    add("## Notes\n")
    for note in res["notes"]:
        add(f"- {note}")
    add("")
    path.write_text("\n".join(lines), encoding="utf-8")


# -- main ------------------------------------------------------------------------------------------
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
