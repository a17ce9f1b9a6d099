"""The Recognizer's pre-processing: inputs to the normalised ``(3, 32, W)`` arrays of their views.

:class:`CropPreparation` is the part of :class:`~crnn_plugin.Recognizer` that decodes, resizes
and normalises crops (:mod:`crnn_plugin.preprocessing`) and makes the views that
:mod:`crnn_plugin.views` chooses among (rotations, the stretched and deskewed views).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .deskew import DESKEW_RATIO, shear_band, slant_slope
from .errors import ImageError
from .preprocessing import ImageInput, describe, load_image, resize_height, to_array
from .views import STRETCH_RATIO, TALL_RATIO, CropViews

if TYPE_CHECKING:
    from .config import CRNNConfig

__all__ = ["CropPreparation"]


class CropPreparation:
    """Pre-processing methods of the Recognizer; it sets the attributes below."""

    config: CRNNConfig
    workers: int
    rotate_tall: bool
    stretch_narrow: bool
    deskew_narrow: bool

    def prepare(self, image: ImageInput) -> np.ndarray:
        """One input to a normalised ``(3, 32, W)`` float32 array; raises :class:`ImageError`."""
        return self._prepare_pil(load_image(image))

    def prepare_variants(self, image: ImageInput) -> CropViews:
        """The ``(3, 32, W)`` arrays to read for one input (see :mod:`crnn_plugin.views`): the crop
        as given; for a tall crop (height >= ``TALL_RATIO`` x width) when ``rotate_tall``, the crop
        rotated 90 degrees clockwise and counter-clockwise; for a narrow crop (resized narrower
        than ``STRETCH_RATIO`` x 32) when ``stretch_narrow``, the crop stretched to that width as
        ``.stretched`` and, when ``deskew_narrow``, its deskewed views (made when first needed) as
        ``.deskewed``. Raises :class:`ImageError`."""
        img = load_image(image)
        views = CropViews([self._prepare_pil(img)])
        if self.stretch_narrow:
            width = max(self.config.min_width, round(STRETCH_RATIO * self.config.input_height))
            if views[0].shape[-1] < width:
                views.stretched = self._prepare_pil(img, min_width=width)
                if self.deskew_narrow and views[0].shape[-1] < DESKEW_RATIO * self.config.input_height:
                    views.deskewed = partial(self._deskewed, img, width)
        if self.rotate_tall and img.height >= TALL_RATIO * img.width:
            for turn in (Image.Transpose.ROTATE_270, Image.Transpose.ROTATE_90):
                views.append(self._prepare_pil(img.transpose(turn)))
        return views

    def try_prepare(self, image: ImageInput) -> CropViews | ImageError:
        """:meth:`prepare_variants` that returns the error instead of raising it; any decoder crash
        on one input becomes an :class:`ImageError` naming that input."""
        try:
            return self.prepare_variants(image)
        except ImageError as e:
            return e
        except Exception as e:  # noqa: BLE001 - one bad input must not cost the other results
            return ImageError(f"{describe(image)}: cannot read image ({type(e).__name__}: {e})")

    def prepare_many(self, images: Sequence[ImageInput]) -> list[CropViews | ImageError]:
        """:meth:`try_prepare` for each input, in order, on ``self.workers`` threads."""
        if self.workers == 1 or len(images) < 2:
            return [self.try_prepare(x) for x in images]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(images))) as pool:
            return list(pool.map(self.try_prepare, images))

    def _deskewed(self, img: Image.Image, width: int) -> list[np.ndarray]:
        """The deskewed view of ``img`` (:mod:`crnn_plugin.deskew`), at least ``width`` wide:
        sheared at twice the model's height (or less), the slope's sign found at its height."""
        h = self.config.input_height
        small = resize_height(img.convert("L"), height=h, min_width=4, max_width=self.config.max_width)
        slope = slant_slope(np.asarray(small))
        if img.height > 2 * h:
            img = resize_height(img, height=2 * h, min_width=4, max_width=2 * self.config.max_width)
        sheared = shear_band(np.asarray(img.convert("RGB")), slope)
        return [self._prepare_pil(Image.fromarray(sheared), min_width=width)]

    def _prepare_pil(self, img: Image.Image, min_width: int | None = None) -> np.ndarray:
        c = self.config
        img = resize_height(
            img, height=c.input_height, min_width=min_width or c.min_width, max_width=c.max_width
        )
        if c.in_channels == 1:
            img = img.convert("L").convert("RGB")
        x = to_array(img, c.mean * (3 // len(c.mean)), c.std * (3 // len(c.std)))
        return x[:1] if c.in_channels == 1 else x
