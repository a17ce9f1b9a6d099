"""Recognise a folder (or a list) of word crops on a Ray cluster; Parquet or JSON Lines out.

    pip install "crnn-plugin[ray]"
    python examples/ray_batch.py CROPS_DIR -o results.parquet                  # local cluster
    python examples/ray_batch.py paths.txt -o results.jsonl --actors 8       # one path or URI a line
    python examples/ray_batch.py s3://bucket/crops/ -o out_dir/ --address auto   # existing cluster
    python examples/ray_batch.py CROPS_DIR -o results.parquet --num-gpus 1 --actors 2  # GPU actors

INPUT is a folder (or a folder URI that pyarrow can list: ``s3://``, ``gs://``...), read with
``ray.data.read_binary_files``; or a text file with one path or URI per line, read by the actors
themselves, so a missing or unreadable entry is an error row. Every input gives exactly one row
``{path, text, confidence, error}`` (``error`` null when it was read). OUTPUT ending in
``.parquet`` or ``.jsonl`` is one file written by this driver as results stream in, in input
order; any other OUTPUT is a folder that the cluster's workers write Parquet files into
(``--format jsonl`` for JSON Lines), which is the way to go for millions of crops.

Without ``--address`` a local cluster is started (``ray.init(num_cpus=...)``) and stopped at the
end; ``--address auto`` (or ``ray://host:10001``) joins a running one, whose nodes need
crnn_plugin installed and, for a folder ``--model``, that folder (see README).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def build_dataset(source: str, *, suffixes: tuple[str, ...]) -> tuple[Any, str]:
    """The input dataset and the name of its image column."""
    import ray.data

    path = Path(source)
    if path.is_file():  # a list of paths or URIs: the actors read them, one row each whatever happens
        lines = [s.strip() for s in path.read_text(encoding="utf-8").splitlines()]
        items = [{"path": s} for s in lines if s and not s.startswith("#")]
        return ray.data.from_items(items), "path"
    suffix_filter = None
    if "://" not in source:
        if not path.is_dir():
            raise SystemExit(f"ray_batch: {source}: no such folder or list file")
        source = str(path.resolve())
        suffix_filter = [s.lstrip(".") for s in suffixes]
    # the read tasks only list and fetch bytes: num_cpus=0 so that they never wait for a CPU that
    # the recognizer actors hold (with actors x cpus_per_actor = all CPUs they would wait forever)
    ds = ray.data.read_binary_files(source, include_paths=True, file_extensions=suffix_filter, num_cpus=0)
    return ds, "bytes"


def write_single_file(ds: Any, output: Path) -> int:
    """Stream the results into one Parquet or JSON Lines file, in input order; returns the rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    writer: Any = None
    with output.open("wb") as raw:
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=1024):
            table = batch.select(["path", "text", "confidence", "error"])
            rows += table.num_rows
            if output.suffix == ".parquet":
                writer = writer or pq.ParquetWriter(raw, table.schema.remove_metadata())
                writer.write_table(table.cast(writer.schema))
            else:
                for row in table.to_pylist():
                    raw.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        if writer is not None:
            writer.close()
        elif output.suffix == ".parquet":  # no input: an empty file with the schema
            schema = pa.schema(
                [
                    ("path", pa.string()),
                    ("text", pa.string()),
                    ("confidence", pa.float32()),
                    ("error", pa.string()),
                ]
            )
            pq.write_table(schema.empty_table(), raw)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("input", help="folder, folder URI, or a text file with one path or URI per line")
    parser.add_argument("-o", "--output", required=True, help="FILE.parquet, FILE.jsonl, or a folder")
    parser.add_argument(
        "--format", choices=("parquet", "jsonl"), default="parquet", help="for a folder OUTPUT"
    )
    parser.add_argument(
        "--address", default=None, help="join this cluster (ray.init(address=...)), e.g. auto"
    )
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local cluster (default: all)")
    parser.add_argument("--actors", type=int, default=None, help="model replicas (default: CPUs, or GPUs)")
    parser.add_argument("--cpus-per-actor", type=float, default=1, help="also ONNX Runtime's threads")
    parser.add_argument("--num-gpus", type=float, default=0, help="GPUs per actor (1: PyTorch on CUDA)")
    parser.add_argument("--batch-size", type=int, default=256, help="rows per map_batches call")
    parser.add_argument("--model", default=None, help="shipped name, folder on every node, or Hub repo id")
    args = parser.parse_args(argv)

    import ray
    import ray.data

    from crnn_plugin.ray_data import recognize_dataset

    started_here = args.address is None
    if started_here:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=args.address, log_to_driver=False)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # rows come out in input order
        ctx.enable_progress_bars = sys.stderr.isatty()
        resources = ray.cluster_resources()
        actors = args.actors or max(
            1, int(resources.get("GPU", 0) // args.num_gpus if args.num_gpus else resources.get("CPU", 1))
        )
        ds, column = build_dataset(args.input, suffixes=IMAGE_SUFFIXES)
        ds = recognize_dataset(
            ds,
            column=column,
            actors=actors,
            batch_size=args.batch_size,
            num_cpus=args.cpus_per_actor,
            num_gpus=args.num_gpus,
            model=args.model,
            keep_input=column == "path",  # a list's paths are the input column: keep them
            device="cuda" if args.num_gpus else "cpu",
        )
        start = time.perf_counter()
        output = Path(args.output)
        if output.suffix in (".parquet", ".jsonl"):
            rows = write_single_file(ds, output)
        else:
            if args.format == "parquet":
                ds.write_parquet(str(output))
            else:
                ds.write_json(str(output))
            rows = ray.data.read_parquet(str(output)).count() if args.format == "parquet" else -1
        seconds = time.perf_counter() - start
        print(
            f"{rows} rows in {seconds:.1f} s ({rows / seconds:.0f} crops/s) on {actors} actor(s) "
            f"x batch {args.batch_size} -> {output}",
            file=sys.stderr,
        )
    finally:
        if started_here:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
