"""Throughput of our recognizer on a GPU: the CUDA path (autocast, channels-last, pinned memory).

    python benchmarks/gpu_speed.py [--folder DIR_WITH_labels.tsv] [--out gpu_speed.md]
    python benchmarks/gpu_speed.py --device cpu --repeats 1 --batches 1 8   # dry run of the script

Model throughput (forward only, 3x32x128, median of ``--repeats`` timed runs after two warm-ups,
``torch.cuda.synchronize`` around each): the shipped ``crnn-small-en`` and the paper-size
``crnn_paper`` (random weights: speed does not depend on them), eager fp32 vs the Recognizer's path
(bf16/fp16 autocast + channels-last on CUDA; inputs start on the host, so the copy is timed too).
End to end (``--folder``): image files -> text with ``Recognizer(batch_size=256)``, decoding
included, first ``--limit`` crops. ``scripts/gpu_train.sh`` runs it on every lent GPU.
"""

from __future__ import annotations

import argparse
import functools
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_common import crops_per_s

from crnn_plugin import CRNN, PRESETS, Recognizer, from_pretrained
from crnn_plugin.recognizer import cuda_amp_dtype


def _sync(device: torch.device) -> Callable[[], object] | None:
    """What to wait on before reading the clock: the GPU's queue on CUDA, nothing on the CPU."""
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None


def model_rows(device: torch.device, batches: list[int], repeats: int) -> list[str]:
    """Markdown rows: model, batch, eager fp32 crops/s, Recognizer path crops/s, speed-up."""
    rows = []
    models = {
        "crnn-small-en (shipped)": from_pretrained(),
        "crnn_paper (random)": CRNN(PRESETS["crnn_paper"]),
    }
    for name, model in models.items():
        eager = CRNN(model.config)
        eager.load_state_dict(model.state_dict())
        eager = eager.eval().to(device)
        rec = Recognizer(model, device=device, backend="torch")
        for b in batches:
            x = torch.randn(b, 3, 32, 128)

            def run_eager(x: torch.Tensor = x, eager: CRNN = eager) -> object:
                with torch.inference_mode():
                    return eager(x.to(device))

            def run_ours(x: torch.Tensor = x, rec: Recognizer = rec) -> object:
                return rec.logits(x)

            r_eager = crops_per_s(run_eager, b, repeats, _sync(device))
            r_ours = crops_per_s(run_ours, b, repeats, _sync(device))
            rows.append(f"| {name} | {b} | {r_eager:,.0f} | {r_ours:,.0f} | {r_ours / r_eager:.2f}x |")
    return rows


def ablation_rows(device: torch.device, batches: list[int], repeats: int) -> list[str]:
    """Markdown rows for the shipped model: which part of the Recognizer path costs or gains speed.

    Variants, all fed from host memory: eager fp32; pinned host memory; channels-last; autocast
    alone; weights and input cast to the autocast dtype once (no autocast, so no per-call weight
    casts and no re-flattening of the LSTM weights); the Recognizer path (autocast + channels-last +
    pinned). On the first H200 run the Recognizer path was slower than eager at batch 1 and 64.
    """
    base = from_pretrained()
    dtype = cuda_amp_dtype(device) if device.type == "cuda" else torch.bfloat16

    def copy(channels_last: bool = False, cast: bool = False) -> CRNN:
        m = CRNN(base.config)
        m.load_state_dict(base.state_dict())
        m = m.eval().to(device)
        if cast:
            m = m.to(dtype)
        return m.to(memory_format=torch.channels_last) if channels_last else m

    fp32, cl, half = copy(), copy(channels_last=True), copy(cast=True)
    rec = Recognizer(copy(), device=device, backend="torch")

    def fwd(
        m: CRNN,
        x: torch.Tensor,
        *,
        pin: bool = False,
        cl: bool = False,
        amp: bool = False,
        cast: bool = False,
    ) -> object:
        with torch.inference_mode():
            x = (x.pin_memory() if pin and device.type == "cuda" else x).to(device, non_blocking=pin)
            if cl:
                x = x.contiguous(memory_format=torch.channels_last)
            if cast:
                x = x.to(dtype)
            with torch.autocast(device.type, dtype=dtype, enabled=amp):
                return m(x).float()

    variants: dict[str, Callable[[torch.Tensor], object]] = {
        "eager fp32": lambda x: fwd(fp32, x),
        "pinned": lambda x: fwd(fp32, x, pin=True),
        "channels-last": lambda x: fwd(cl, x, cl=True),
        "autocast only": lambda x: fwd(fp32, x, amp=True),
        f"{str(dtype).split('.')[-1]} weights, no autocast": lambda x: fwd(half, x, cast=True),
        "Recognizer path": rec.logits,
    }
    rows = []
    for b in batches:
        x = torch.randn(b, 3, 32, 128)
        rates = [crops_per_s(functools.partial(f, x), b, repeats, _sync(device)) for f in variants.values()]
        rows.append(f"| {b} | " + " | ".join(f"{r:,.0f}" for r in rates) + " |")
    head = "| batch | " + " | ".join(variants) + " |"
    return [head, "|" + "---|" * (len(variants) + 1), *rows]


def end_to_end(device: torch.device, folder: Path, limit: int, repeats: int) -> str:
    """One markdown line: files -> text crops/s over the first ``limit`` crops of ``folder``."""
    lines = (folder / "labels.tsv").read_text(encoding="utf-8").splitlines()
    files = [folder / ln.split("\t", 1)[0] for ln in lines if ln.strip()][:limit]
    rec = Recognizer.from_pretrained(device=device, batch_size=256, backend="torch")
    rate = crops_per_s(lambda: rec(files), len(files), repeats, _sync(device))
    return f"End to end, {len(files)} files of `{folder.name}` -> text (batch 256): **{rate:,.0f} crops/s**"


def _argv(options: dict[str, object]) -> list[str]:
    words = []
    for k, v in options.items():
        if v is not None:
            words += [f"--{k}", *(map(str, v) if isinstance(v, list) else [str(v)])]
    return words


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256, 1024])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--folder", type=Path, help="crops with labels.tsv for the end-to-end row")
    p.add_argument("--limit", type=int, default=2000)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device (use --device cpu for a dry run)")
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    rec_dtype = Recognizer(CRNN(PRESETS["crnn_small"]), device=device, backend="torch").amp_dtype
    out: list[str] = []

    def emit(lines: list[str]) -> None:  # written section by section: a later failure keeps the rest
        out.extend(lines)
        print("\n".join(lines), flush=True)
        if args.out is not None:
            args.out.write_text("\n".join(out) + "\n", encoding="utf-8")

    def section(title: list[str], rows: Callable[[], list[str]]) -> None:
        try:
            emit([*title, *rows()])
        except Exception as e:  # noqa: BLE001 - one failing section must not cost the others
            emit([*title, f"(failed: {type(e).__name__}: {e})"])

    emit(
        [
            f"# crnn_plugin on {what}",
            "",
            f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"Recognizer path: autocast {rec_dtype}, channels-last, pinned host memory.",
            "`python benchmarks/gpu_speed.py " + " ".join(_argv(vars(args))) + "`",
            "",
        ]
    )
    header = ["| model | batch (3x32x128) | eager fp32 crops/s | Recognizer path crops/s | speed-up |"]
    section([*header, "|---|---|---|---|---|"], lambda: model_rows(device, args.batches, args.repeats))
    section(
        ["", "Where the time goes (crnn-small-en, crops/s, 3x32x128; see `ablation_rows`):", ""],
        lambda: ablation_rows(device, args.batches, args.repeats),
    )
    if args.folder is not None:
        folder = args.folder
        section([""], lambda: [end_to_end(device, folder, args.limit, args.repeats)])


if __name__ == "__main__":
    main()
