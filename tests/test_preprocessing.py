"""Inputs of every kind and PIL mode become correct RGB crops; bad inputs raise ImageError."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from _helpers import render_word
from PIL import Image

from crnn_plugin import ImageError, load_image
from crnn_plugin.preprocessing import pad_batch, resize_height, to_array, to_rgb, width_buckets

pytestmark = pytest.mark.light


@pytest.fixture
def gray() -> np.ndarray:
    return np.asarray(render_word("mode", mode="L"))


def _close(img: Image.Image, ref: np.ndarray, tol: float = 1.5) -> None:
    arr = np.asarray(img).astype(float)
    assert img.mode == "RGB" and arr.shape[:2] == ref.shape[:2]
    assert np.abs(arr.mean(-1) - ref.astype(float)).mean() < tol


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1", "YCbCr", "LA", "La", "RGBA", "I", "F", "I;16"])
def test_every_pil_mode_converts(mode: str, gray: np.ndarray) -> None:
    base = Image.fromarray(gray)
    if mode == "I;16":
        img = Image.fromarray(gray.astype("<u2") * 257)
        assert img.mode == "I;16"
    elif mode == "I":
        img = Image.fromarray(gray.astype(np.int32) * 257)
    elif mode == "F":
        img = Image.fromarray(gray.astype(np.float32) / 255.0)
    elif mode == "La":  # premultiplied alpha: Pillow converts it only to LA
        img = base.convert("LA").convert("La")
    else:
        img = base.convert(mode)
    out = load_image(img)
    tol = 40 if mode == "1" else 3  # 1-bit dithers
    _close(out, gray, tol)


def test_transparent_text_is_composited_on_white() -> None:
    rgba = np.zeros((20, 40, 4), dtype=np.uint8)
    rgba[5:15, 5:35, 3] = 255  # opaque black text, transparent (black, alpha 0) elsewhere
    out = np.asarray(load_image(Image.fromarray(rgba, "RGBA")))
    assert out[0, 0].tolist() == [255, 255, 255] and out[10, 10].tolist() == [0, 0, 0]
    pal = Image.fromarray(rgba[..., 0]).convert("P")
    pal.info["transparency"] = 0
    assert np.asarray(load_image(pal))[0, 0].tolist() == [255, 255, 255]


def test_numpy_inputs_are_rgb(gray: np.ndarray) -> None:
    rgb = np.zeros((10, 20, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red channel first: RGB order
    assert np.asarray(load_image(rgb))[0, 0].tolist() == [200, 0, 0]
    _close(load_image(gray), gray)
    _close(load_image(gray[..., None]), gray)
    _close(load_image(gray.astype(np.float32) / 255), gray)
    _close(load_image(gray.astype(np.uint16) * 257), gray)
    _close(load_image(gray.astype(np.float32)), gray)  # 0-255 floats, as OpenCV arithmetic gives
    overshoot = gray.astype(np.float32) / 255
    overshoot[0, 0] = 1.0001  # a bicubic resize of a [0, 1] image overshoots a little
    _close(load_image(overshoot), gray, tol=2)
    _close(load_image(gray.astype(np.int64)), gray)  # 0-255 integers, as numpy arithmetic gives
    with pytest.raises(ImageError, match=r"int32 array with values -1\.\.300, expected 0\.\.255"):
        load_image(np.array([[-1, 300]], dtype=np.int32))
    with pytest.raises(ImageError, match="dtype complex"):
        load_image(gray.astype(np.complex64))
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((4, 4), np.nan, dtype=np.float32))
    with pytest.raises(ImageError, match=r"expected \(H, W\)"):
        load_image(np.zeros((4, 4, 2), dtype=np.uint8))


def test_paths_and_bytes(tmp_path: Path, gray: np.ndarray) -> None:
    p = tmp_path / "w.png"
    Image.fromarray(gray).save(p)
    _close(load_image(p), gray)
    _close(load_image(str(p)), gray)
    _close(load_image(p.read_bytes()), gray)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = render_word("exif")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: viewers show it upright after rotating back
    p = tmp_path / "r.jpg"
    img.rotate(90, expand=True).save(p, exif=exif)
    out = load_image(p)
    assert out.size == img.size


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: d / "empty.png", "empty file"),
        (lambda d: d / "text.png", "not a recognised image"),
        (lambda d: d / "trunc.png", "corrupt or truncated"),
        (lambda d: d / "absent.png", "cannot read file"),
        (lambda d: d, "is a directory"),
    ],
)
def test_bad_files_raise_image_error_naming_the_file(tmp_path: Path, make, match: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, I am not a PNG")
    buf = io.BytesIO()
    render_word("truncated").save(buf, "PNG")
    (tmp_path / "trunc.png").write_bytes(buf.getvalue()[:200])
    target = make(tmp_path)
    with pytest.raises(ImageError, match=match) as e:
        load_image(target)
    assert str(target) in str(e.value)


def test_zero_pixel_inputs() -> None:
    with pytest.raises(ImageError, match="0 pixels"):
        load_image(np.zeros((0, 10, 3), dtype=np.uint8))
    with pytest.raises(ImageError, match="0 pixels"):
        load_image(Image.new("RGB", (0, 5)))


def test_resize_keeps_aspect_and_clamps() -> None:
    assert resize_height(Image.new("RGB", (300, 60))).size == (160, 32)
    assert resize_height(Image.new("RGB", (1, 1))).size == (32, 32)
    assert resize_height(Image.new("RGB", (1, 10))).size == (8, 32)
    assert resize_height(Image.new("RGB", (20000, 1))).size == (1600, 32)
    assert resize_height(Image.new("RGB", (8000, 8000))).size == (32, 32)


def test_to_rgb_is_identity_for_rgb() -> None:
    img = Image.new("RGB", (3, 3), "red")
    assert to_rgb(img) is img


def test_pad_batch_pads_black_on_the_right() -> None:
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    a, b = np.zeros((3, 32, 10), np.float32), np.ones((3, 32, 20), np.float32)
    batch = pad_batch([a, b], mean, std, multiple=16)
    assert batch.shape == (2, 3, 32, 32) and batch.dtype == np.float32
    assert np.all(batch[0, :, :, 10:] == -1.0) and np.all(batch[1, :, :, 20:] == -1.0)  # black
    assert np.array_equal(batch[1, :, :, :20], b)
    torch = pytest.importorskip("torch")  # training pads tensors: a tensor comes back
    t = pad_batch([torch.from_numpy(a), torch.from_numpy(b)], mean, std)
    assert isinstance(t, torch.Tensor) and np.array_equal(t.numpy(), pad_batch([a, b], mean, std))


def test_to_array_normalises_like_the_torch_pipeline_did() -> None:
    """(pixel / 255 - mean) / std in float32, channels first: bit for bit what the PyTorch
    pre-processing computed, so the backends see the same input in both installs."""
    img = render_word("Norm")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    x = to_array(img, mean, std)
    assert x.shape == (3, img.height, img.width) and x.dtype == np.float32 and x.flags.c_contiguous
    torch = pytest.importorskip("torch")
    ref = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255.0)
    ref = ref.sub_(torch.tensor(mean).view(-1, 1, 1)).div_(torch.tensor(std).view(-1, 1, 1))
    assert np.array_equal(x, ref.numpy())


def test_width_buckets_group_similar_widths() -> None:
    widths = [100, 10, 50, 11, 99, 51]
    buckets = width_buckets(widths, 2)
    assert buckets == [[1, 3], [2, 5], [4, 0]]


def test_width_buckets_by_padded_width() -> None:
    """With ``multiple``, a batch holds one padded width only, narrowest first, every index once."""
    widths = [100, 10, 50, 11, 99, 51, 16, 17, 30, 31, 32]
    buckets = width_buckets(widths, 2, multiple=16)
    assert sorted(i for b in buckets for i in b) == list(range(len(widths)))
    padded = [{-(-widths[i] // 16) * 16 for i in b} for b in buckets]
    assert all(len(p) == 1 for p in padded) and all(len(b) <= 2 for b in buckets)
    assert [p.pop() for p in padded] == [16, 16, 32, 32, 64, 112]
