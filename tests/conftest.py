"""Shared fixtures: a tiny seeded CRNN, rendered word images, and the shared benchmark data path."""

from __future__ import annotations

import string

import pytest
import torch
from _helpers import render_word
from PIL import Image

from crnn_plugin import CRNN, CRNNConfig


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
    torch.manual_seed(0)
    return CRNN(tiny_config).eval()


@pytest.fixture
def word_image() -> Image.Image:
    return render_word("hello")
