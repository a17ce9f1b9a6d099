"""The model side of the GPU kit (``scripts/gpu_kit.py``): the fp16 start folder a GPU call begins
from (``start.json``, ``SHA256SUMS``) and the training log a chain of calls keeps."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from gpu_kit_data import _MIB


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _last_row(call_log: Path) -> tuple[int, float]:
    """Step and hours of a call's last training row (0, 0.0 when it logged none)."""
    step, hours = 0, 0.0
    if call_log.is_file():
        with open(call_log, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("step") and row.get("hours"):
                    step, hours = int(row["step"]), float(row["hours"])
    return step, hours


def read_start(folder: str | Path) -> dict[str, Any]:
    """``start.json`` of a start folder ({} when there is none)."""
    p = Path(folder) / "start.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def make_start(
    src: Path,
    dst: Path,
    *,
    prev: Path | None = None,
    call_log: Path | None = None,
    call_steps: int | None = None,
    origin: str = "",
) -> dict[str, Any]:
    """Write ``dst``: ``config.json``, a half-precision ``model.safetensors``, ``SHA256SUMS`` and
    ``start.json``. ``src`` is a model folder or a training ``checkpoint.pt``. With ``call_log``
    (the log of the GPU call that made ``src``), the call, its steps (``call_steps``, else the
    log's last row) and hours are added to ``prev``'s."""
    import torch
    from safetensors.torch import save_file

    from crnn_plugin.config import CRNNConfig
    from crnn_plugin.hub import CONFIG_NAME, WEIGHTS_NAME, load_folder
    from crnn_plugin.model import CRNN

    info: dict[str, Any] = {"calls": 0, "gpu_steps": 0, "gpu_hours": 0.0}
    if src.is_dir():
        model = load_folder(src)
        src_hash = _sha256(src / WEIGHTS_NAME)
        desc = f"model folder {src}"
    else:
        ck = torch.load(src, map_location="cpu", weights_only=True)
        model = CRNN(CRNNConfig.from_dict(ck["model_config"]))
        model.load_state_dict(ck["model"])
        model.eval()
        src_hash = _sha256(src)
        desc = f"checkpoint {src} at step {int(ck['step'])}"
    if call_log is not None:
        old = read_start(prev) if prev is not None else {}
        step, hours = _last_row(call_log)
        step = step if call_steps is None else call_steps
        info = {
            "calls": int(old.get("calls", 0)) + 1,
            "gpu_steps": int(old.get("gpu_steps", 0)) + step,
            "gpu_hours": round(float(old.get("gpu_hours", 0.0)) + hours, 4),
        }
    info.update(origin=origin or desc, source_sha256=src_hash)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.config.save(tmp / CONFIG_NAME)
    half = {
        k: (v.detach().half() if v.is_floating_point() else v.detach()).contiguous()
        for k, v in model.state_dict().items()
    }
    save_file(half, str(tmp / WEIGHTS_NAME), metadata={"format": "pt", "arch": model.config.arch})
    os.chmod(tmp / WEIGHTS_NAME, 0o644)  # safetensors writes 0600
    (tmp / "start.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    sums = "".join(f"{_sha256(tmp / n)}  {n}\n" for n in (CONFIG_NAME, WEIGHTS_NAME, "start.json"))
    (tmp / "SHA256SUMS").write_text(sums, encoding="utf-8")
    # the half-precision copy loads (as float32) and reads like the source
    back = load_folder(tmp)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 128)
    with torch.no_grad():
        diff = (back(x) - model(x)).abs().max().item()
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    size = (dst / WEIGHTS_NAME).stat().st_size
    print(
        f"start: {dst} from {desc}: fp16 weights {size / _MIB:.1f} MiB, max logit change {diff:.2g}; "
        f"GPU calls so far {info['calls']}, steps {info['gpu_steps']}"
    )
    return info


def cmd_start(args: argparse.Namespace) -> None:
    make_start(
        Path(args.src),
        Path(args.dst),
        prev=Path(args.prev) if args.prev else None,
        call_log=Path(args.call_log) if args.call_log else None,
        call_steps=args.call_steps,
        origin=args.origin or "",
    )


def cmd_info(args: argparse.Namespace) -> None:
    print(read_start(args.folder).get(args.key, args.default))


def append_log(call_log: Path, dest: Path, *, steps: int, hours: float) -> int:
    """Append a call's ``train_log.csv`` rows to ``dest`` with its steps and hours offset by the
    GPU calls before it, so that ``dest`` is one sequence; returns the rows appended."""
    with open(call_log, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return 0
    header, body = rows[0], rows[1:]
    i_step, i_hours = header.index("step"), header.index("hours")
    new = not dest.is_file() or dest.stat().st_size == 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(header)
        for row in body:
            row = list(row)
            if row[i_step]:
                row[i_step] = str(int(row[i_step]) + steps)
            if row[i_hours]:
                row[i_hours] = f"{float(row[i_hours]) + hours:.3f}"
            w.writerow(row)
    return len(body)


def cmd_log_append(args: argparse.Namespace) -> None:
    old = read_start(args.prev) if args.prev else {}
    n = append_log(
        Path(args.call_log),
        Path(args.dest),
        steps=int(old.get("gpu_steps", 0)),
        hours=float(old.get("gpu_hours", 0.0)),
    )
    print(f"log: {n} rows appended to {args.dest} (from GPU step {old.get('gpu_steps', 0)})")
