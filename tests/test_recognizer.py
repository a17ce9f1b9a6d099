"""The Recognizer: inputs of all kinds, input order, errors that keep the other results; with the
PyTorch backend (a tiny seeded model) and the int8 ONNX backend (the shipped model, no torch)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from _helpers import render_word
from PIL import Image, ImageDraw, ImageFont

from crnn_plugin import DeviceError, ImageError, Lexicon, Prediction, Recognizer
from crnn_plugin.recognizer import DEFAULT_BATCH_SIZE
from crnn_plugin.views import TALL_RATIO

if TYPE_CHECKING:
    from crnn_plugin import CRNN

pytestmark = pytest.mark.light


@pytest.fixture(params=["torch", "onnx"])
def rec(request: pytest.FixtureRequest) -> Recognizer:
    """A Recognizer with small batches: the tiny PyTorch model (skipped without torch), or the
    shipped model through its int8 export (what the light install runs)."""
    if request.param == "torch":
        return Recognizer(request.getfixturevalue("tiny_model"), device="cpu", batch_size=3)
    rec = Recognizer.from_pretrained(device="cpu", batch_size=3)
    assert rec.backend == "onnx-int8"
    return rec


def test_results_in_input_order(rec: Recognizer) -> None:
    words = ["a", "longer words here", "mid", "xy", "a very very long line of text", "q"]
    imgs = [render_word(w) for w in words]
    out = rec(imgs)
    rev = rec(imgs[::-1])  # same width buckets, reversed input order
    assert len(out) == len(words)
    assert [p.text for p in rev] == [p.text for p in out][::-1]
    # crops of one width are batched without padding, so batched == one at a time
    same = [render_word(w).resize((90, 40)) for w in ["abc", "abd", "xbc"]]
    assert len({im.size for im in same}) == 1
    assert [p.text for p in rec(same)] == [rec(im)[0].text for im in same]


def test_prediction_contract(rec: Recognizer) -> None:
    (p,) = rec(render_word("hello"))
    assert isinstance(p, Prediction) and p.ok
    assert 0.0 <= p.confidence <= 1.0
    assert len(p.char_confidences) == len(p.text)
    assert set(p.text) <= set(rec.config.vocab)


def test_mixed_inputs(rec: Recognizer, tmp_path: Path) -> None:
    img = render_word("mix")
    path = tmp_path / "w.png"
    img.save(path)
    out = rec([img, np.asarray(img), str(path), path, path.read_bytes(), img.convert("RGBA")])
    assert len({p.text for p in out}) == 1  # the same crop, whatever the input type


def test_bad_crop_in_batch_keeps_other_results(rec: Recognizer, tmp_path: Path) -> None:
    good = render_word("ok")
    (tmp_path / "empty.png").write_bytes(b"")
    out = rec([good, tmp_path / "empty.png", np.zeros((0, 5), np.uint8), good])
    assert [p.ok for p in out] == [True, False, False, True]
    assert "empty file" in (out[1].error or "") and str(tmp_path / "empty.png") in (out[1].error or "")
    assert "0 pixels" in (out[2].error or "")
    assert out[0].text == out[3].text and out[1].text == "" and out[1].confidence == 0.0
    with pytest.raises(ImageError):
        rec([good, tmp_path / "empty.png"], errors="raise")
    with pytest.raises(ImageError):
        rec(tmp_path / "empty.png")  # a single input raises


class _BrokenPath(os.PathLike):  # type: ignore[type-arg]
    """A path-like whose file system call fails with an error no image library would raise."""

    def __fspath__(self) -> str:
        raise RuntimeError("disk on fire")

    def __str__(self) -> str:
        return "broken-path"


def test_parallel_preparation_keeps_order_and_errors(tiny_model: CRNN, tmp_path: Path) -> None:
    """Inputs decoded on several threads come back in input order, errors at their own index;
    an unexpected exception from one input is reported on it and costs no other result."""
    (tmp_path / "bad.png").write_bytes(b"not a png")
    words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    items: list[object] = [render_word(w, height=24 + 3 * i) for i, w in enumerate(words)]
    items[3] = tmp_path / "bad.png"
    items[6] = _BrokenPath()
    serial = Recognizer(tiny_model, device="cpu", workers=1, batch_size=4)(items)  # type: ignore[arg-type]
    threaded = Recognizer(tiny_model, device="cpu", workers=4, batch_size=4)(items)  # type: ignore[arg-type]
    assert [p.ok for p in threaded] == [i not in (3, 6) for i in range(len(items))]
    assert [(p.text, p.confidence, p.error) for p in serial] == [
        (p.text, p.confidence, p.error) for p in threaded
    ]
    assert "bad.png" in (threaded[3].error or "")
    assert "broken-path" in (threaded[6].error or "") and "disk on fire" in (threaded[6].error or "")
    with pytest.raises(ValueError, match="workers"):
        Recognizer(tiny_model, device="cpu", workers=0)


def test_huge_and_tiny_crops(rec: Recognizer) -> None:
    out = rec(
        [
            np.full((1, 1, 3), 255, np.uint8),
            np.full((1, 20000), 255, np.uint8),
            np.full((4000, 4000), 128, np.uint8),
        ]
    )
    assert all(p.ok for p in out)


def test_beam_search_option(rec: Recognizer) -> None:
    img = render_word("beam")
    greedy = rec(img)[0]
    beam = rec(img, beam_width=5)[0]
    assert beam.confidence >= greedy.confidence - 1e-6


def test_device_resolution(tiny_model: CRNN) -> None:
    import torch

    r = Recognizer(tiny_model, device="auto")
    assert r.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            Recognizer(tiny_model, device="cuda")
    else:
        with pytest.raises(DeviceError, match="CUDA device"):
            Recognizer(tiny_model, device=f"cuda:{torch.cuda.device_count()}")
    with pytest.raises(DeviceError, match="'tpu': not a device torch knows"):
        Recognizer(tiny_model, device="tpu")
    with pytest.raises(DeviceError, match="'meta' is not usable here"):
        Recognizer(tiny_model, device="meta")
    with pytest.raises(DeviceError, match="'meta' is not usable here"):
        Recognizer(tiny_model, device=torch.device("meta"))  # device objects are checked too


@pytest.mark.gpu
def test_cuda_autocast_matches_fp32_cpu(tiny_config) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    from crnn_plugin import CRNN

    torch.manual_seed(0)
    cpu_model = CRNN(tiny_config).eval()
    gpu_model = CRNN(tiny_config).eval()
    gpu_model.load_state_dict(cpu_model.state_dict())
    imgs = [render_word(w) for w in ("gpu", "path", "test")]
    cpu = Recognizer(cpu_model, device="cpu", amp=False)(imgs)
    gpu = Recognizer(gpu_model, device="cuda")(imgs)
    on_cuda = Recognizer(gpu_model, device="cuda")
    assert gpu[0].ok and on_cuda.amp_dtype in (torch.float16, torch.bfloat16)
    assert on_cuda.batch_size == DEFAULT_BATCH_SIZE["cuda"] == 256
    _, batch = next(on_cuda.batches([on_cuda.prepare(img) for img in imgs]))
    assert isinstance(batch, np.ndarray)  # pre-processing is numpy; the backend pins it for the copy
    for a, b in zip(cpu, gpu):
        assert a.confidence == pytest.approx(b.confidence, abs=0.05)
    # CTC on CUDA: beam search, lexicons (expanded log-probs), a tall crop read in 3 orientations,
    # and a batch that is already on the GPU
    assert len(on_cuda(imgs, beam_width=5)) == 3
    assert all(p.lexicon_used for p in on_cuda(imgs, lexicon=Lexicon(["gpu", "path", "test"])))
    assert len(on_cuda(render_word("tall").rotate(90, expand=True))) == 1
    gpu_batch = torch.from_numpy(batch).to("cuda")
    assert on_cuda.logits(gpu_batch).shape[0] == batch.shape[0]


def test_batch_size_defaults_by_device_and_is_validated(tiny_model: CRNN) -> None:
    """64 on CPU unless asked; a batch size below 1 is refused."""
    assert Recognizer(tiny_model, device="cpu").batch_size == DEFAULT_BATCH_SIZE["cpu"] == 64
    assert Recognizer(tiny_model, device="cpu", batch_size=7).batch_size == 7
    with pytest.raises(ValueError, match="batch_size"):
        Recognizer(tiny_model, device="cpu", batch_size=0)


def test_fp32_and_default_precision_agree(tiny_model: CRNN) -> None:
    """The default (bf16 on CPUs with native bf16) reads the same as fp32 on clear crops. The
    untrained tiny model is unsure of everything: the language model (off here) would choose
    among its near-tied garbage candidates, which tests the model, not the precision."""
    imgs = [render_word(w) for w in ("alpha", "beta", "gamma")]
    fp32 = Recognizer(tiny_model, device="cpu", amp=False, lm_weight=0)
    auto = Recognizer(tiny_model, device="cpu", lm_weight=0)
    assert fp32.amp_dtype is None
    a, b = fp32(imgs), auto(imgs)
    assert [p.text for p in a] == [p.text for p in b]


def test_rotated_vertical_text_is_read() -> None:
    """A word rotated 90 degrees either way (a tall crop) is read with the shipped model; upright
    tall crops keep their reading, and rotate_tall=False reads only the crop as given."""
    rec = Recognizer.from_pretrained(device="cpu")
    word = render_word("MARKET", size=36)
    turned = [word.transpose(Image.Transpose.ROTATE_90), word.transpose(Image.Transpose.ROTATE_270)]
    assert all(im.height >= TALL_RATIO * im.width for im in turned)
    assert [p.text for p in rec(turned)] == ["MARKET", "MARKET"]
    assert [p.text for p in Recognizer.from_pretrained(device="cpu", rotate_tall=False)(turned)] != [
        "MARKET",
        "MARKET",
    ]
    tall_upright = render_word("I", size=40, height=60)  # one tall character: stays as it is
    assert tall_upright.height >= TALL_RATIO * tall_upright.width
    assert rec(tall_upright)[0].text == rec.predict_tensors([rec.prepare(tall_upright)])[0].text


def _needs_shipped_default() -> None:
    """Skip where the shipped default weights are absent."""
    from crnn_plugin.model_folder import DEFAULT_MODEL, shipped_models

    if DEFAULT_MODEL not in shipped_models():
        pytest.skip("no shipped weights")


def _very_wide_crop() -> tuple[str, Image.Image]:
    """12 run-together 'Welcome' in one 40:1 crop; skips without the shipped weights."""
    _needs_shipped_default()
    text = "Welcome" * 12
    return text, render_word(text, height=30, size=24)


def test_shipped_model_reads_a_very_wide_crop() -> None:
    """A 40:1 crop is read at full resolution (the width cap is 1600 px at height 32, 50:1)."""
    text, img = _very_wide_crop()
    assert 800 < img.width * 32 / img.height < 1600
    assert Recognizer.from_pretrained(device="cpu")(img)[0].text.lower() == text.lower()


@pytest.mark.xfail(
    strict=True,
    reason="known miss of the shipped default (stage-3 + stage-4 average): in 12 run-together "
    "'Welcome' (84 letters, confidence 0.03) one W is read as w; stage 3 alone read it case-exact. "
    "See the model card. Strict: a model that reads it must update this.",
)
def test_very_wide_crop_case_exact() -> None:
    """The same 40:1 crop, case-sensitive."""
    text, img = _very_wide_crop()
    assert Recognizer.from_pretrained(device="cpu")(img)[0].text == text


def test_collections_of_any_kind_and_bad_counts(tiny_model: CRNN) -> None:
    rec = Recognizer(tiny_model, device="cpu")
    imgs = [render_word(w) for w in ("cat", "dog")]
    ref = [p.text for p in rec(imgs)]
    assert [p.text for p in rec(x for x in imgs)] == ref  # a generator
    arrays = [np.asarray(im.resize((60, 32))) for im in imgs]
    assert len(rec(np.stack(arrays))) == 2  # an (N, H, W, C) batch
    assert len(rec(arrays[0])) == 1  # one (H, W, C) image
    grey = np.stack([a.mean(-1).astype(np.uint8) for a in arrays] * 3)
    assert [p.text for p in rec(grey)] == [p.text for p in rec(list(grey))]  # an (N, H, W) batch
    with pytest.raises(ImageError, match=r"expected \(H, W\)"):  # channels first: one bad image
        rec(arrays[0].transpose(2, 0, 1))
    with pytest.raises(ImageError, match=r"expected \(H, W\)"):  # grey + alpha
        rec(np.stack([grey[0], grey[0]], -1))
    assert Recognizer(tiny_model, device="cpu", batch_size=np.int64(8)).batch_size == 8  # type: ignore[arg-type]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="must be an integer >= 1"):
            Recognizer(tiny_model, device="cpu", batch_size=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="beam_width must be an integer >= 1"):
            rec(imgs, beam_width=bad)  # type: ignore[arg-type]


def test_default_model_reads_a_text_line_with_single_spaces() -> None:
    """The default model has a space class: a rendered line of words reads with one space between
    words (none leading or trailing), the same crops' words alone read without one."""
    _needs_shipped_default()
    rec = Recognizer.from_pretrained(device="cpu")
    if " " not in rec.tokenizer.vocab:
        pytest.skip("the default model has no space class")
    lines = ["Total 12.50", "OPEN DAILY"]
    got = [p.text for p in rec([render_word(t) for t in lines])]
    assert got == lines
    words = [p.text for p in rec([render_word(w) for t in lines for w in t.split()])]
    assert words == [w for t in lines for w in t.split()]


def _line_with_gaps(words: list[str], factor: float, size: int = 28) -> Image.Image:
    """Words in Pillow's default font, each gap ``factor`` times the font's own space."""
    font = ImageFont.load_default(size=size)
    gap = font.getlength(" ") * factor
    width = sum(font.getlength(w) for w in words) + gap * (len(words) - 1)
    img = Image.new("RGB", (int(width) + 12, 40), "white")
    x = 6.0
    for w in words:
        ImageDraw.Draw(img).text((x, 6), w, fill="black", font=font)
        x += font.getlength(w) + gap
    return img


def test_default_model_reads_narrow_lower_case_spaces() -> None:
    """Lower-case words at the font's own space (0.21 em in Pillow's default font) keep it: the miss
    of the first v2 weights ('helloworld'), fixed by lower-case lines with tight gaps in training
    (stages 2-3)."""
    _needs_shipped_default()
    rec = Recognizer.from_pretrained(device="cpu")
    texts = ["hello world", "see you soon", "the quick brown fox", "call me later"]
    assert rec(render_word("hello world"))[0].text == "hello world"
    assert [p.text for p in rec([_line_with_gaps(t.split(), 1.0) for t in texts])] == texts


@pytest.mark.xfail(
    strict=True,
    reason="known miss of the shipped default: gaps tighter than the font's own space (0.8x, as in "
    "justified text) are dropped ('helloworld'); see the model card. Strict: a model that reads it must "
    "update this.",
)
def test_default_model_reads_spaces_tighter_than_the_font() -> None:
    _needs_shipped_default()
    rec = Recognizer.from_pretrained(device="cpu")
    assert rec(_line_with_gaps(["hello", "world"], 0.8))[0].text == "hello world"


def test_space_free_model_still_loads_and_reads_words() -> None:
    """crnn-small-en (no space class) stays loadable by name and reads as before."""
    from crnn_plugin.model_folder import shipped_models

    if "crnn-small-en" not in shipped_models():
        pytest.skip("crnn-small-en not shipped")
    rec = Recognizer.from_pretrained("crnn-small-en", device="cpu")
    assert " " not in rec.tokenizer.vocab
    assert (
        rec(Path(__file__).resolve().parents[1] / "examples" / "crops" / "crop_00.png")[0].text == "Welcome"
    )
