"""Fine-tuning the shipped weights on your own crops with a new vocabulary, end to end:
configs/finetune_example.json, pointed at crops written here in the three folder layouts, a few
training steps, the saved model loaded with from_pretrained and read through docTR's predictors."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from _helpers import REPO
from PIL import Image, ImageDraw, ImageFont

from crnn_plugin import from_pretrained
from crnn_plugin.hub import DEFAULT_MODEL, shipped_models

NEW = "éèàçüöñ"
#: words that need the new letters, and two the shipped model already reads
WORDS = ["été", "garçon", "über", "schön", "niño", "crème", "Zürich", "déjà", "hello", "2024"]
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _render(text: str) -> Image.Image:
    """Black on white; DejaVu draws the accents where it is installed (Pillow's own font draws
    boxes for them, which still trains, but not the letters)."""
    font = ImageFont.truetype(str(DEJAVU), 30) if DEJAVU.is_file() else ImageFont.load_default(size=30)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    img = Image.new("RGB", (right - left + 14, max(44, bottom - top + 10)), "white")
    ImageDraw.Draw(img).text(
        (7 - left, (img.height - (bottom - top)) // 2 - top), text, fill="black", font=font
    )
    return img


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _doctr_folder(root: Path, words: list[str]) -> Path:
    (root / "images").mkdir(parents=True)
    labels = {}
    for i, w in enumerate(words):
        (root / "images" / f"{i}.png").write_bytes(_png(_render(w)))
        labels[f"{i}.png"] = w
    (root / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    return root


def _tsv_folder(root: Path, words: list[str]) -> Path:
    root.mkdir(parents=True)
    for i, w in enumerate(words):
        (root / f"w{i}.png").write_bytes(_png(_render(w)))
    (root / "labels.tsv").write_text(
        "".join(f"w{i}.png\t{w}\n" for i, w in enumerate(words)), encoding="utf-8"
    )
    return root


def _lmdb_folder(root: Path, words: list[str]) -> Path:
    lmdb = pytest.importorskip("lmdb")
    env = lmdb.open(str(root), map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", str(len(words)).encode())
        for i, w in enumerate(words, 1):
            txn.put(b"image-%09d" % i, _png(_render(w)))
            txn.put(b"label-%09d" % i, w.encode("utf-8"))
    env.close()
    return root


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny batches run fastest on one thread, and much faster on a busy machine; restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_finetune_example_config_on_a_new_vocabulary(tmp_path: Path) -> None:
    pytest.importorskip("doctr")
    if DEFAULT_MODEL not in shipped_models():
        pytest.skip("no shipped weights in this checkout")
    from doctr.models import detection, ocr_predictor, recognition_predictor
    from torch import nn

    from crnn_plugin.training.train import TrainConfig, train

    example = TrainConfig.load(REPO / "configs" / "finetune_example.json")
    assert set(NEW) <= set(example.model_config().vocab) and example.init_from == DEFAULT_MODEL
    layouts = [
        _doctr_folder(tmp_path / "doctr", WORDS),
        _tsv_folder(tmp_path / "tsv", WORDS[::-1]),
        _lmdb_folder(tmp_path / "lmdb", WORDS[3:] + WORDS[:3]),
    ]
    config = dataclasses.replace(
        example,
        sources=[dataclasses.replace(example.sources[0], path=str(p)) for p in layouts],
        batch_size=8,
        warmup_steps=1,
        max_steps=6,
        workers=0,
        threads=1,
        out_dir=str(tmp_path / "run"),
        log_every=1,
        amp=False,
    )
    config.check()
    final = train(config, resume=False)

    losses = [
        float(r.split(",")[2]) for r in (tmp_path / "run" / "train_log.csv").read_text().splitlines()[1:]
    ]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)
    model = from_pretrained(final)
    assert model.vocab == config.model_config().vocab
    shipped = from_pretrained()
    # warm start: every layer began as the shipped one and moved only a little in six small steps
    w0, w1 = shipped.state_dict()["features.0.weight"], model.state_dict()["features.0.weight"]
    assert float((w1 - w0).norm() / w0.norm()) < 0.05
    for c in "hello":
        row0 = shipped.classifier.weight[shipped.vocab.index(c)]
        assert torch.allclose(model.classifier.weight[model.vocab.index(c)], row0, atol=0.05)

    # docTR reads with it: recognition_predictor and an ocr_predictor with reco_arch=our model
    crops = [np.asarray(_render(w)) for w in WORDS]
    preds = recognition_predictor(model)(crops)
    assert all(isinstance(t, str) and set(t) <= set(model.vocab) and 0 <= c <= 1 for t, c in preds)
    assert [t for t, _ in preds][-2:] == ["hello", "2024"]  # what the shipped model read, it still reads

    page = Image.new("RGB", (512, 512), "white")
    boxes = []
    for (x, y), word in zip([(20, 40), (20, 150)], ["garçon", "hello"]):
        crop = _render(word)
        page.paste(crop, (x, y))
        boxes.append([x / 512, y / 512, (x + crop.width) / 512, (y + crop.height) / 512, 0.99])

    class Boxes(detection.DBNet):  # type: ignore[misc]
        """A docTR detector that returns where the words were pasted (no detector weights offline)."""

        def __init__(self) -> None:
            nn.Module.__init__(self)
            self._anchor = nn.Parameter(torch.zeros(1))
            self.cfg = {"mean": (0.5, 0.5, 0.5), "std": (1.0, 1.0, 1.0), "input_shape": (3, 512, 512)}
            self.assume_straight_pages = True
            self.postprocessor = SimpleNamespace(assume_straight_pages=True, bin_thresh=0.3)  # type: ignore[assignment]

        def forward(self, x: torch.Tensor, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
            return {"preds": [{"words": np.asarray(boxes, dtype=np.float32)} for _ in range(x.shape[0])]}

    doc = ocr_predictor(det_arch=Boxes(), reco_arch=model, pretrained=True)([np.asarray(page)]).export()
    words = [w["value"] for b in doc["pages"][0]["blocks"] for line in b["lines"] for w in line["words"]]
    assert len(words) == 2 and "hello" in words and all(set(w) <= set(model.vocab) for w in words)
