"""The benchmark report: every result of the driver rendered into one markdown file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from run_all_accuracy import _accuracy_tables
from run_all_names import ACC_PEERS, DOCTR_PEERS, LABELS


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
