"""The machine section of the benchmark report: CPU model, clock, ISA and the assumed fp32 peak."""

from __future__ import annotations

import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from bench_common import dist_version


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
