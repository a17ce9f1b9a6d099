"""Scene modes of the synthetic generator: curved text, side views, 3D effects, photos, lines.

Each mode is forced through its probability (``synth_modes.mode_config``); rendering tests
skip without usable fonts, like tests/test_synth.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import random
import string
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from _helpers import small_font_dirs
from PIL import Image

from crnn_plugin.training import synth, synth_photos
from crnn_plugin.training.fonts import FontInfo, find_fonts
from crnn_plugin.training.synth import SynthWordGenerator
from crnn_plugin.training.synth_arc import arc_layout, draw_arc
from crnn_plugin.training.synth_fontpick import load_font
from crnn_plugin.training.synth_geometry import plan_warp, side_view
from crnn_plugin.training.synth_layout import reference_height
from crnn_plugin.training.synth_modes import MODES, mode_config
from crnn_plugin.training.synth_photos import PhotoTextures, find_photos
from crnn_plugin.training.synth_relief import drop_shadow, emboss, extrude, shift

VOCAB = string.digits + string.ascii_letters + string.punctuation + " "


@pytest.fixture(scope="module")
def fonts() -> list[FontInfo]:
    dirs = small_font_dirs()
    found = find_fonts(dirs) if dirs else []
    if not found:
        pytest.skip("no usable fonts found (run scripts/install_training_deps.sh)")
    return found


@pytest.fixture(scope="module")
def dejavu(fonts: list[FontInfo]) -> FontInfo:
    """A plain sans font whose capitals are one connected blob each."""
    for f in fonts:
        if f.path.name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "FreeSans.ttf"):
            return f
    pytest.skip("no DejaVu / Liberation / Free Sans font")


def _digest(img: Image.Image) -> str:
    return hashlib.sha1(img.tobytes() + repr((img.mode, img.size)).encode()).hexdigest()


def _blobs(mask: np.ndarray) -> int:
    """Number of 8-connected components of a boolean mask."""
    seen = np.zeros_like(mask, bool)
    h, w = mask.shape
    count = 0
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if seen[y0, x0]:
            continue
        count += 1
        seen[y0, x0] = True
        todo = deque([(y0, x0)])
        while todo:
            y, x = todo.popleft()
            for ny in (y - 1, y, y + 1):
                for nx in (x - 1, x, x + 1):
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        todo.append((ny, nx))
    return count


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_is_deterministic_rgb_32(mode: str, fonts: list[FontInfo]) -> None:
    cfg = mode_config(mode)
    gen = SynthWordGenerator(VOCAB, seed=11, fonts=fonts, config=cfg)
    first = [gen[i] for i in range(6)]
    again = SynthWordGenerator(VOCAB, seed=11, fonts=fonts, config=mode_config(mode))
    for i, (img, label) in enumerate(first):
        assert img.mode == "RGB" and img.height == 32
        assert 16 <= img.width <= 25 * 32
        assert label and label == label.strip() and "  " not in label
        assert set(label) <= set(VOCAB)
        img2, label2 = again[i]
        assert (label2, _digest(img2)) == (label, _digest(img))
    other = SynthWordGenerator(VOCAB, seed=12, fonts=fonts, config=mode_config(mode))
    assert [_digest(other[i][0]) for i in range(3)] != [_digest(im) for im, _ in first[:3]]


def test_lines_have_single_inner_spaces(fonts: list[FontInfo]) -> None:
    gen = SynthWordGenerator(VOCAB, seed=3, fonts=fonts, config=mode_config("lines"))
    labels = [gen[i][1] for i in range(30)]
    assert sum(" " in lab for lab in labels) >= 20
    for lab in labels:
        assert lab == lab.strip() and "  " not in lab
        assert len(lab) <= gen.config.max_line_len


def test_line_case_modes_follow_their_probabilities(fonts: list[FontInfo]) -> None:
    """Sentence-case lines are mostly lower case (the narrow spaces a model must learn), upper-case
    lines have no lower-case letter."""
    sentence = SynthWordGenerator(
        VOCAB, seed=4, fonts=fonts, config=mode_config("lines", p_line_sentence=1.0)
    )
    words = [w for i in range(20) for w in sentence._text.sample(random.Random(i)).split(" ")[1:]]
    assert sum(w.islower() for w in words) >= 0.6 * len(words)
    upper = SynthWordGenerator(
        VOCAB, seed=4, fonts=fonts, config=mode_config("lines", p_line_sentence=0.0, p_line_upper=1.0)
    )
    labels = [upper._text.sample(random.Random(i)) for i in range(20)]
    assert all(not any(c.islower() for c in lab) for lab in labels)
    assert sum(" " in lab for lab in labels) >= 15


def test_word_spacing_scales_only_the_gaps(dejavu: FontInfo) -> None:
    """A line drawn with ``factor`` x the font's space: words keep their own widths, the gaps follow
    the factor (0.6: tighter than the font's own space, as in justified text)."""
    from crnn_plugin.training.synth_layout import _word_pieces

    font = load_font(str(dejavu.path), 40)
    space = font.getlength(" ")
    tight = _word_pieces("see you soon", font, 0.6)
    loose = _word_pieces("see you soon", font, 1.5)
    assert [w for w, _ in tight] == ["see", "you", "soon"]
    gap = tight[1][1] - font.getlength("see")
    assert gap == pytest.approx(0.6 * space)
    assert loose[2][1] - tight[2][1] == pytest.approx(2 * 0.9 * space)
    cfg = mode_config("lines", p_word_spacing=1.0, word_spacing=(0.6, 0.6), p_char_spacing=0.0)
    gen = SynthWordGenerator(VOCAB, seed=8, fonts=[dejavu], config=cfg)
    again = SynthWordGenerator(VOCAB, seed=8, fonts=[dejavu], config=cfg)
    loose_gen = SynthWordGenerator(
        VOCAB, seed=8, fonts=[dejavu], config=dataclasses.replace(cfg, word_spacing=(1.6, 1.6))
    )
    wider = 0
    for i in range(6):
        img, label = gen[i]
        assert (label, _digest(img)) == (again[i][1], _digest(again[i][0]))
        loose_img, loose_label = loose_gen[i]
        assert loose_label == label  # the same text, drawn with wider gaps
        wider += " " in label and loose_img.width > img.width
    assert wider >= 3


def test_no_space_vocab_never_makes_lines(fonts: list[FontInfo]) -> None:
    gen = SynthWordGenerator(VOCAB.replace(" ", ""), seed=3, fonts=fonts, config=mode_config("lines"))
    assert all(" " not in gen[i][1] for i in range(10))


def test_arc_layout_places_one_glyph_per_character(dejavu: FontInfo) -> None:
    font = load_font(str(dejavu.path), 40)
    text = "Badge of honour 1,2"
    for concave in (False, True):
        placed = arc_layout(font, text, arc=math.pi, concave=concave, cap_height=28.0)
        assert "".join(g.char for g in placed) == text.replace(" ", "")
        turns = [g.angle for g in placed]
        # glyphs turn monotonically along the arc, within a half circle
        assert turns == sorted(turns, reverse=concave)
        assert max(abs(t) for t in turns) <= math.pi / 2


@pytest.mark.parametrize(("arc", "concave"), [(math.pi / 2, False), (math.pi, False), (math.pi, True)])
def test_curved_ink_matches_the_label(dejavu: FontInfo, arc: float, concave: bool) -> None:
    """Each capital is one blob: the ink has exactly as many blobs as the label has glyphs."""
    font = load_font(str(dejavu.path), 48)
    text = "CLOSE UP"
    masks = draw_arc(font, dejavu, text, arc=arc, concave=concave)
    assert masks.glyphs == "CLOSEUP"
    assert _blobs(np.asarray(masks.fill) > 128) == len(masks.glyphs)
    x0, y0, x1, y1 = masks.box
    ink = masks.fill.getbbox()
    assert ink is not None and x0 <= ink[0] and y0 <= ink[1] and ink[2] <= x1 and ink[3] <= y1


def test_generator_draws_exactly_the_label_when_curved(
    fonts: list[FontInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    real = synth.render_arc

    def spy(*args: object, **kwargs: object) -> object:
        masks = real(*args, **kwargs)  # type: ignore[arg-type]
        drawn.append(masks.glyphs)
        return masks

    monkeypatch.setattr(synth, "render_arc", spy)
    gen = SynthWordGenerator(VOCAB, seed=5, fonts=fonts, config=mode_config("curved", p_line=0.3))
    checked = 0
    for i in range(16):
        drawn.clear()
        _, label = gen[i]
        if len(label.replace(" ", "")) >= 2:  # one glyph is never curved
            assert drawn == [label.replace(" ", "")]
            checked += 1
    assert checked >= 10


def test_side_view_foreshortens_and_keeps_the_centre() -> None:
    quad = np.array([[0, 0], [200, 0], [200, 40], [0, 40]], float)
    assert np.allclose(side_view(quad, 0.0, 0.0, 300.0), quad)
    seen = side_view(quad, math.radians(45), 0.0, 250.0)
    left, right = seen[3, 1] - seen[0, 1], seen[2, 1] - seen[1, 1]
    assert max(left, right) / min(left, right) > 1.5  # one side is much nearer
    assert np.ptp(seen[:, 0]) < 200  # and the text looks narrower
    assert np.allclose(seen.mean(0)[0], 100, atol=30)


def test_strong_perspective_crop_is_tight_around_the_quad() -> None:
    cfg = mode_config("perspective", p_cut=0.0)
    box = (100.0, 100.0, 400.0, 150.0)
    for seed in range(20):
        r = random.Random(seed)
        warp = plan_warp(r, np.random.default_rng(seed), cfg, box, 50.0)
        assert warp.moved
        x0, y0, x1, y1 = warp.crop
        (qx0, qy0), (qx1, qy1) = warp.dst.min(0), warp.dst.max(0)
        assert x0 <= qx0 and y0 <= qy0 and qx1 <= x1 and qy1 <= y1
        slack = 0.3 * max(cfg.margin_x[1], cfg.margin_y[1]) * 50 + 2
        assert qx0 - x0 <= slack and x1 - qx1 <= slack and qy0 - y0 <= slack and y1 - qy1 <= slack


def test_tilt_rotates_words_steeply_and_crops_around_them() -> None:
    cfg = mode_config("tilted", p_cut=0.0, p_shear=0.0, p_rotate=0.0, p_perspective=0.0)
    box = (100.0, 100.0, 300.0, 150.0)  # 4:1, a word
    angles = []
    for seed in range(30):
        warp = plan_warp(random.Random(seed), np.random.default_rng(seed), cfg, box, 50.0)
        assert warp.moved
        (tlx, tly), (trx, try_) = warp.dst[0], warp.dst[1]
        angle = math.degrees(math.atan2(try_ - tly, trx - tlx))
        assert cfg.tilt_deg[0] - 1e-6 <= abs(angle) <= cfg.tilt_deg[1] + 1e-6
        angles.append(angle)
        x0, y0, x1, y1 = warp.crop
        (qx0, qy0), (qx1, qy1) = warp.dst.min(0), warp.dst.max(0)
        assert x0 <= qx0 and y0 <= qy0 and qx1 <= x1 and qy1 <= y1
    assert min(angles) < 0 < max(angles)  # both directions
    # a long line is never tilted (its crop would shrink the glyphs to nothing) ...
    line = (100.0, 100.0, 100.0 + 9 * 50.0, 150.0)
    warp = plan_warp(random.Random(0), np.random.default_rng(0), cfg, line, 50.0)
    assert not warp.moved
    # ... and with the option off (the default) no random number is drawn for it, so the
    # samples of configs without it stay as they were
    off, on = random.Random(3), random.Random(3)
    plan_warp(off, np.random.default_rng(3), dataclasses.replace(cfg, p_tilt=0.0), box, 50.0)
    plan_warp(on, np.random.default_rng(3), dataclasses.replace(cfg, p_tilt=1e-12), box, 50.0)
    off.random()  # stands for the one draw "on" made for the tilt
    assert off.random() == on.random()


def test_relief_effects_stay_in_range() -> None:
    r = random.Random(0)
    mask = np.zeros((32, 60), np.float32)
    mask[8:24, 10:50] = 1.0
    assert shift(mask, 2, 1)[9, 12] == 1.0 and shift(mask, 2, 1)[8, 12] == 0.0
    img = np.full((32, 60, 3), 0.8, np.float32)
    fg = np.array([0.1, 0.1, 0.2], np.float32)
    for out in (
        emboss(r, img, mask, fg),
        extrude(r, img, mask, fg),
        drop_shadow(r, img, mask, fg, offset=(2, 5), blur=(0.5, 1.5), opacity=(0.6, 0.9)),
    ):
        assert out.shape == img.shape
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        assert not np.allclose(out, img)


def _write(path: Path, size: int = 30_000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)


def test_find_photos_one_file_per_picture(tmp_path: Path) -> None:
    for res in ("1280x1024", "1920x1080", "3840x2160"):
        _write(tmp_path / "Kite" / "contents" / "images" / f"{res}.jpg")
    _write(tmp_path / "Kite" / "contents" / "screenshot.png")
    _write(tmp_path / "mate" / "Elephants.jpg")
    _write(tmp_path / "mate" / "Elephants_3840x2160.jpg")
    _write(tmp_path / "mate" / "icon.png", size=500)
    _write(tmp_path / "mate" / "notes.txt")
    found = find_photos((str(tmp_path),))
    assert [os.path.relpath(p, tmp_path) for p in found] == [
        os.path.join("Kite", "contents", "images", "1920x1080.jpg"),
        os.path.join("mate", "Elephants.jpg"),
    ]
    assert PhotoTextures([str(tmp_path / "none")]).patch(random.Random(0), 32, 100) is None


def test_photo_patches_are_cached_losslessly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    photo = tmp_path / "photos" / "noise.png"
    photo.parent.mkdir()
    Image.fromarray(rng.integers(0, 256, (700, 1000, 3), dtype=np.uint8)).save(photo)
    fresh = synth_photos._load(str(photo))
    assert max(fresh.shape[:2]) == synth_photos._SIDE
    synth_photos._load.cache_clear()
    assert list((tmp_path / "cache").rglob("*.png"))
    assert np.array_equal(synth_photos._load(str(photo)), fresh)  # from the disk cache
    textures = PhotoTextures([str(photo.parent)])
    a, b = textures.patch(random.Random(1), 32, 150), textures.patch(random.Random(1), 32, 150)
    assert a is not None and b is not None and a.shape == (32, 150, 3) and np.array_equal(a, b)


def test_photo_mode_uses_installed_photos(
    fonts: list[FontInfo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    (tmp_path / "photos").mkdir()
    Image.fromarray(rng.integers(0, 256, (400, 600, 3), dtype=np.uint8)).save(tmp_path / "photos" / "a.png")
    calls: list[tuple[int, int]] = []
    real = PhotoTextures.patch

    def spy(self: PhotoTextures, r: random.Random, h: int, w: int) -> np.ndarray | None:
        calls.append((h, w))
        return real(self, r, h, w)

    monkeypatch.setattr(PhotoTextures, "patch", spy)
    cfg = mode_config("photo", photo_dirs=(str(tmp_path / "photos"),))
    gen = SynthWordGenerator(VOCAB, seed=2, fonts=fonts, config=cfg)
    for i in range(4):
        img, _ = gen[i]
        assert calls[-1] == (img.height, img.width)
    assert len(calls) == 4


def test_reference_height_is_above_the_baseline(dejavu: FontInfo) -> None:
    cap_top, desc = reference_height(load_font(str(dejavu.path), 40), dejavu)
    assert cap_top < 0 < desc


def test_side_neighbours_show_only_a_sliver() -> None:
    cfg = mode_config("words", p_cut=0.0)
    box, box_h = (100.0, 100.0, 400.0, 150.0), 50.0
    for seed in range(30):
        warp = plan_warp(
            random.Random(seed), np.random.default_rng(seed), cfg, box, box_h, (None, None, 0.4, 0.3)
        )
        x0, _, x1, _ = warp.crop
        (qx0, _), (qx1, _) = warp.dst.min(0), warp.dst.max(0)
        assert x0 <= qx0 and qx1 <= x1  # the text is never cut
        if not warp.moved:  # neighbours start 0.4 / 0.3 text heights away: at most 0.08 shows
            assert 100 - 0.4 * box_h - 0.08 * box_h - 1 <= x0 <= 100 - 0.4 * box_h
            assert 400 + 0.3 * box_h <= x1 <= 400 + 0.3 * box_h + 0.08 * box_h + 1
