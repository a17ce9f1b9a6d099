"""The knobs of the synthetic word generator, in one dataclass."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SynthConfig"]


@dataclass
class SynthConfig:
    """Knobs of :class:`~crnn_plugin.training.synth.SynthWordGenerator` (probabilities are per sample).

    Each scene-geometry family has its own probability: ``p_arc`` (true curved text),
    ``p_strong_perspective`` (side views), ``p_tilt`` (steep in-plane rotation, off by default),
    ``p_3d`` (emboss / extrusion / drop shadow),
    ``p_photo`` (photographic backgrounds), ``p_neighbors`` and ``p_side_neighbors`` (clutter
    from nearby text).
    Setting one to 1.0 forces that family, which is how the preview sheet and tests use them.
    """

    height: int = 32  # output height; the width follows the rendered text
    max_len: int = 25  # maximum label length
    min_width_factor: float = 0.5  # width >= height * this
    max_width_factor: float = 25.0  # width <= height * this

    # Word sources (relative weights).
    w_english: float = 0.55  # wordfreq English (or the ``words`` override)
    w_random: float = 0.10  # random alphanumeric strings
    w_number: float = 0.11  # numbers, prices, percentages, units, ordinals
    w_datetime: float = 0.06  # dates and times
    w_code: float = 0.08  # codes, phone numbers, e-mails, URLs, file names
    w_punct: float = 0.10  # words with attached punctuation, compounds, acronyms
    english_top_n: int = 50000
    p_line: float = 0.25  # multi-word lines with single spaces (only when the vocab has a space)
    line_words: tuple[int, int] = (2, 8)
    max_line_len: int = 60
    # Case of a line: sentence case (list words as they are, lower case, the first capitalised half
    # the time), all upper case, else each word on its own (``p_upper`` ... below).
    p_line_sentence: float = 0.2
    p_line_upper: float = 0.3
    # Word gaps of a line: with ``p_word_spacing`` each gap is the font's space times a factor
    # drawn from ``word_spacing`` (tight typesetting and justified text: narrow lower-case spaces).
    p_word_spacing: float = 0.4
    word_spacing: tuple[float, float] = (0.6, 1.6)
    zipf_fraction: float = 0.4  # share of words drawn log-uniformly by rank (rest: uniform)

    # Case variants (rest: as-is).
    p_upper: float = 0.22
    p_title: float = 0.22
    p_mixed_case: float = 0.03

    # Fonts.
    max_families_per_source: int = 24  # caps the weight of a font directory (e.g. decorative)
    font_size: tuple[int, int] = (32, 72)  # render size in pixels before the final resize

    # Layout.
    p_char_spacing: float = 0.15
    char_spacing: tuple[float, float] = (-0.03, 0.6)  # in font-size units (0.6: spaced-out signs)
    p_curve: float = 0.04  # gentle bend: pixel columns shifted along an arc or a wave
    p_arc: float = 0.08  # true curved text: each glyph placed and rotated along a circle
    arc_degrees: tuple[float, float] = (40.0, 180.0)  # total arc of the text (180: half circle)
    p_arc_concave: float = 0.4  # of curved text: on the bottom of the circle (tops inward)
    p_neighbors: float = 0.12  # partial text lines above / below
    p_side_neighbors: float = 0.06  # a sliver of the previous / next word at the left / right

    # Colours and compositing.
    p_light_on_dark: float = 0.35
    min_contrast: float = 0.35  # minimal luminance difference text / background
    p_outline: float = 0.10
    p_hollow: float = 0.15  # of outlined text: outline only, no fill
    p_shadow: float = 0.10  # a small hard or soft shadow (a 2D effect)
    p_alpha: float = 0.20  # text blended with alpha < 1
    p_multiply: float = 0.05  # dark text multiplied into the background texture
    p_fill_gradient: float = 0.08
    p_lighting: float = 0.15  # smooth illumination change over the whole image
    p_3d: float = 0.10  # a 3D effect: emboss, extrusion or a long drop shadow (weights below)
    w_emboss: float = 1.0
    w_extrude: float = 1.0
    w_drop_shadow: float = 1.0

    # Backgrounds (relative weights of the procedural kinds).
    bg_flat: float = 0.25
    bg_gradient: float = 0.15
    bg_noise: float = 0.10
    bg_smooth_noise: float = 0.18
    bg_stripes: float = 0.07
    bg_grain: float = 0.12
    bg_clutter: float = 0.13
    p_photo: float = 0.20  # textures cut from installed wallpapers (procedural when none)
    photo_dirs: tuple[str, ...] = ("/usr/share/backgrounds", "/usr/share/wallpapers")

    # Geometry.
    p_rotate: float = 0.35
    max_rotate_deg: float = 4.0
    p_shear: float = 0.15
    max_shear: float = 0.25
    p_perspective: float = 0.30
    max_perspective: float = 0.12  # corner jitter in units of the text height
    p_strong_perspective: float = 0.12  # the text plane turned in 3D and seen by a pinhole camera
    max_yaw_deg: float = 45.0  # side views (SVT-Perspective)
    max_pitch_deg: float = 25.0
    p_tilt: float = 0.0  # steep in-plane rotation (signs seen from below, badges); off by default
    tilt_deg: tuple[float, float] = (8.0, 40.0)  # |angle| range of a tilt
    tilt_max_aspect: float = 8.0  # only text boxes at most this wide (in heights) are tilted

    # Crop margins, in units of the text height.
    margin_x: tuple[float, float] = (0.0, 0.4)
    margin_y: tuple[float, float] = (0.0, 0.35)
    p_cut: float = 0.08  # cut up to ~2 px of glyphs at the top / bottom

    # Degradations (applied at the output resolution).
    p_blur: float = 0.25
    blur_radius: tuple[float, float] = (0.3, 1.1)
    p_motion_blur: float = 0.05
    p_lowres: float = 0.15
    lowres_scale: tuple[float, float] = (0.4, 0.8)
    p_noise: float = 0.35
    noise_std: tuple[float, float] = (2.0, 12.0)  # in 0..255 units
    p_jpeg: float = 0.30
    jpeg_quality: tuple[int, int] = (15, 90)
