"""Shared fixtures: a tiny seeded CRNN, rendered word images, and the shared benchmark data path.

Nothing here imports torch at collection time: the light-install tests (``pytest -m light``) run
in a virtualenv without it, and tests that use the PyTorch fixtures skip there.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _helpers import render_word
from PIL import Image

from crnn_plugin.config import CRNNConfig

if TYPE_CHECKING:
    from crnn_plugin import CRNN


@pytest.fixture
def tiny_config() -> CRNNConfig:
    return CRNNConfig(
        arch="tiny",
        vocab=string.digits + string.ascii_letters,
        conv_channels=(8, 16, 16, 16, 32, 32, 32),
        hidden_size=16,
    )


@pytest.fixture
def tiny_model(tiny_config: CRNNConfig) -> CRNN:
    torch = pytest.importorskip("torch", reason="the PyTorch model needs the torch extra")
    from crnn_plugin.model import CRNN

    torch.manual_seed(0)
    return CRNN(tiny_config).eval()


@pytest.fixture
def word_image() -> Image.Image:
    return render_word("hello")


@pytest.fixture
def model_dir(tiny_model: CRNN, tmp_path: Path) -> Path:
    """The tiny PyTorch model saved without an int8 export (runs in PyTorch; skipped without it)."""
    from crnn_plugin import save_pretrained

    return save_pretrained(tiny_model, tmp_path / "model")
