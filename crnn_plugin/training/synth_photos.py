"""Photographic backgrounds: textures cut from freely licensed wallpapers of Debian packages.

``scripts/install_training_deps.sh`` installs the packages (their licences are listed there).
Photos are found lazily on first use; each is decoded once per process and kept downscaled
(long side ``_SIDE``) in memory and, lossless, in a disk cache, so a worker that starts later
sees exactly the same pixels. Without any installed photo, :meth:`PhotoTextures.patch` returns
``None`` and the generator falls back to procedural backgrounds (as in CI).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import random
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["PhotoTextures", "find_photos"]

logger = logging.getLogger(__name__)

_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp"})
_SIDE = 512  # long side of a cached photo, in pixels
_MIN_BYTES = 20_000  # smaller files are icons or previews
_RESOLUTION = re.compile(r"(\d{3,5})x(\d{3,5})")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "crnn_plugin" / f"photos{_SIDE}"


@functools.lru_cache(maxsize=8)
def find_photos(dirs: tuple[str, ...]) -> tuple[str, ...]:
    """Wallpaper files under ``dirs``, one per picture (the size nearest 1920 px wide), sorted."""
    groups: dict[tuple[str, str], list[str]] = {}
    for d in dirs:
        for root, _sub, files in os.walk(os.path.expanduser(d), followlinks=True):
            for name in files:
                stem, ext = os.path.splitext(name)
                path = os.path.join(root, name)
                if ext.lower() not in _EXTENSIONS or "screenshot" in stem.lower():
                    continue
                if os.path.getsize(path) < _MIN_BYTES:
                    continue
                # "1920x1080.jpg" (Plasma) or "Elephants_3840x2160.jpg" (MATE): one picture
                key = (root, _RESOLUTION.sub("", stem).strip("_-").lower())
                groups.setdefault(key, []).append(path)
    return tuple(sorted(min(paths, key=_size_rank) for paths in groups.values()))


def _size_rank(path: str) -> tuple[float, str]:
    m = _RESOLUTION.search(os.path.basename(path))
    return (abs(int(m.group(1)) - 1920) if m else 0.0, path)


@functools.lru_cache(maxsize=160)
def _load(path: str) -> np.ndarray:
    """The photo at ``path`` downscaled to a long side of ``_SIDE`` (uint8 RGB), via the disk cache."""
    st = os.stat(path)
    key = hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    cached = _cache_dir() / f"{key}.png"
    try:
        with Image.open(cached) as im:
            return np.asarray(im.convert("RGB"))
    except OSError:
        pass
    with Image.open(path) as im:
        im.draft("RGB", (_SIDE, _SIDE))  # JPEG: decode at a reduced scale
        small = im.convert("RGB")
    small.thumbnail((_SIDE, _SIDE), Image.Resampling.LANCZOS)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".png", delete=False) as fh:
            small.save(fh, "PNG")
        os.replace(fh.name, cached)
    except OSError as exc:  # a read-only home still trains, only slower to start
        logger.debug("photo cache not written (%s)", exc)
    return np.asarray(small)


class PhotoTextures:
    """Random background patches cut from installed photos (found on first use)."""

    def __init__(self, dirs: Sequence[str]) -> None:
        self.dirs = tuple(str(d) for d in dirs)

    @property
    def paths(self) -> tuple[str, ...]:
        """The photos found under ``dirs`` (cached per process)."""
        return find_photos(self.dirs)

    def patch(self, r: random.Random, h: int, w: int) -> np.ndarray | None:
        """An (h, w, 3) float32 patch in [0, 1] at a random place and scale, or ``None``."""
        paths = self.paths
        if not paths:
            return None
        arr = _load(paths[r.randrange(len(paths))])
        ph, pw = arr.shape[:2]
        s_max = min(ph / h, pw / w)  # largest crop with the patch's aspect ratio
        s_min = min(0.6, s_max)
        s = math.exp(r.uniform(math.log(s_min), math.log(max(s_max, s_min))))
        ch, cw = min(ph, max(1, round(h * s))), min(pw, max(1, round(w * s)))
        y0, x0 = r.randint(0, ph - ch), r.randint(0, pw - cw)
        crop = Image.fromarray(arr[y0 : y0 + ch, x0 : x0 + cw])
        if r.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out = np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR), np.float32) / 255.0
        return out
