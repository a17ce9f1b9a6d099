"""Batch recognition on Ray Data (``crnn_plugin.ray_data``, ``examples/ray_batch.py``).

The first tests call :class:`CRNNPredictor` directly (no Ray needed: it is a plain callable) and
run everywhere. The others start a local Ray cluster (``ray.init(num_cpus=2)``) and skip when Ray
is not installed: CI installs ``.[doctr,onnx,train,test]`` only, without the ``ray`` extra (Ray is
hundreds of MB), so they run where ``pip install -e ".[ray,test]"`` was done, as here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _helpers import REPO
from PIL import Image

from crnn_plugin.ray_data import CRNNPredictor, recognize_dataset

CROPS = REPO / "examples" / "crops"
BROKEN = ("broken.png", "truncated.png")


@pytest.fixture(scope="module")
def predictor() -> CRNNPredictor:
    return CRNNPredictor(column="image")


@pytest.fixture(scope="module")
def crops_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ten example crops, a file that is not an image and a truncated PNG."""
    folder = tmp_path_factory.mktemp("crops")
    for p in sorted(CROPS.glob("*.png")):
        shutil.copy(p, folder / p.name)
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "truncated.png").write_bytes((CROPS / "crop_00.png").read_bytes()[:100])
    return folder


def _cli_texts(folder: Path, tmp_path: Path) -> dict[str, str | None]:
    """``crnn-plugin recognize`` on the folder, in-process: path -> text (None for error rows)."""
    from crnn_plugin.cli import main

    out = tmp_path / "cli.jsonl"
    assert main(["recognize", str(folder), "-o", str(out), "--quiet"]) == 1  # 1: some unreadable
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return {Path(r["path"]).name: r["text"] for r in rows}


# -- the callable, without Ray ------------------------------------------------------------------
def test_predictor_reads_bytes_paths_and_arrays_in_order(predictor: CRNNPredictor) -> None:
    hello = CROPS / "crop_08.png"
    cells = np.array(
        [
            hello.read_bytes(),  # encoded bytes
            str(hello),  # a path
            np.asarray(Image.open(hello).convert("RGB")),  # an RGB array
            b"not an image",
            None,  # a null cell
            str(CROPS / "missing.png"),
        ],
        dtype=object,
    )
    out = predictor({"image": cells, "id": np.arange(6)})
    assert list(out) == ["id", "text", "confidence", "error"]  # the input column is dropped
    assert out["id"].tolist() == list(range(6))
    assert out["text"].tolist()[:3] == ["hello"] * 3
    assert out["error"].tolist()[:3] == [None] * 3
    assert out["confidence"].dtype == np.float32 and (out["confidence"][:3] > 0.5).all()
    assert out["text"].tolist()[3:] == [""] * 3
    assert out["confidence"].tolist()[3:] == [0.0] * 3
    assert all(isinstance(e, str) and e for e in out["error"][3:])
    assert "missing.png" in out["error"][5]


def test_predictor_takes_a_uniform_array_batch_and_pandas(predictor: CRNNPredictor) -> None:
    img = np.asarray(Image.open(CROPS / "crop_08.png").convert("RGB"))
    out = predictor({"image": np.stack([img, img])})  # read_images' (N, H, W, C) batch
    assert out["text"].tolist() == ["hello", "hello"]
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"image": [str(CROPS / "crop_08.png"), b"x"], "k": [1, 2]})
    out = CRNNPredictor(column="image", keep_input=True)(frame)
    assert out["text"].tolist() == ["hello", ""] and out["k"].tolist() == [1, 2]
    assert out["image"].tolist()[0].endswith("crop_08.png")


def test_predictor_names_a_missing_column(predictor: CRNNPredictor) -> None:
    with pytest.raises(KeyError, match="no column 'image'"):
        predictor({"bytes": np.array([b""], dtype=object)})


# -- on a local Ray cluster ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    yield ray
    ray.shutdown()


def _read(ray: Any, folder: Path) -> Any:
    # one block per file, so that several batches (and tasks) run; reads take no CPU slot
    return ray.data.read_binary_files(str(folder), include_paths=True, num_cpus=0, override_num_blocks=12)


@pytest.mark.slow
def test_local_cluster_one_row_per_input_same_texts_as_cli(
    ray_cluster: Any, crops_dir: Path, tmp_path: Path
) -> None:
    ds = recognize_dataset(_read(ray_cluster, crops_dir), column="bytes", actors=2, batch_size=4)
    rows = ds.take_all()
    names = [Path(r["path"]).name for r in rows]
    assert sorted(names) == sorted(p.name for p in crops_dir.iterdir())  # one row per input
    assert set(rows[0]) == {"path", "text", "confidence", "error"}
    by_name = {Path(r["path"]).name: r for r in rows}
    for name in BROKEN:
        assert by_name[name]["error"] and by_name[name]["text"] == "" and by_name[name]["confidence"] == 0.0
    cli = _cli_texts(crops_dir, tmp_path)
    assert {n: (r["text"] if r["error"] is None else None) for n, r in by_name.items()} == cli
    labels = dict(line.split("\t") for line in (CROPS / "labels.tsv").read_text().splitlines() if line)
    assert by_name["crop_08.png"]["text"] == labels.get("crop_08.png", "hello")


@pytest.mark.slow
def test_killed_actor_is_restarted_and_every_input_read_once(
    ray_cluster: Any, crops_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"

    class DiesOnce(CRNNPredictor):  # a local class: cloudpickle ships it to the actors by value
        def __call__(self, batch: Any) -> dict[str, Any]:
            if not marker.exists():  # the first batch of the run kills its actor's process
                marker.write_text(str(os.getpid()))
                os._exit(1)
            return super().__call__(batch)

    ds = recognize_dataset(
        _read(ray_cluster, crops_dir), column="bytes", actors=2, batch_size=2, predictor=DiesOnce
    )
    rows = ds.take_all()
    assert marker.exists()  # an actor did die mid-run
    names = [Path(r["path"]).name for r in rows]
    assert len(names) == len(set(names)) == 12  # exactly one row per input
    assert sum(r["error"] is not None for r in rows) == 2  # the two broken files only


@pytest.mark.slow
def test_example_writes_one_row_per_listed_path(crops_dir: Path, tmp_path: Path) -> None:
    """examples/ray_batch.py with a list of paths (one missing) to JSON Lines, on its own local
    cluster (a subprocess: the example starts and stops it)."""
    pytest.importorskip("ray.data", reason="the 'ray' extra is not installed")
    listing = tmp_path / "paths.txt"
    paths = [str(p) for p in sorted(crops_dir.iterdir())] + [str(tmp_path / "missing.png")]
    listing.write_text("\n".join(paths) + "\n")
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "ray_batch.py"),
            str(listing),
            "-o",
            str(out),
            "--num-cpus",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["path"] for r in rows] == paths  # input order
    assert [r["error"] is not None for r in rows] == [Path(p).name in (*BROKEN, "missing.png") for p in paths]
