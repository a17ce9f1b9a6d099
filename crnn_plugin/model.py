"""The CRNN network of Shi, Bai & Yao (2015): VGG-style convolutions, map-to-sequence, BiLSTM."""

from __future__ import annotations

import torch
from torch import nn

from .config import CRNNConfig
from .rectifier import TPSRectifier

__all__ = ["CRNN", "num_frames"]


def num_frames(width: int) -> int:
    """Frames ``T`` the network emits for an input ``width`` pixels wide (at height 32 or 48:
    only the height pooling differs)."""
    w = width // 2 // 2  # two 2x2 max-pools
    w = w + 1 + 1  # two (2, 1)-stride pools with width padding 1
    return w - 1  # final 2x2 convolution without padding


class CRNN(nn.Module):
    """Convolutional recurrent network with a CTC head.

    Input ``(N, C, H, W)`` normalised images with ``H = config.input_height`` (32 or 48); output
    ``(N, T, len(vocab) + 1)`` logits with ``T = W // 4 + 1`` and the CTC blank at the last index.
    At height 48 the last height pooling takes 3 rows instead of 2 (no new weights); with
    ``config.rectifier == "tps"`` a :class:`~crnn_plugin.rectifier.TPSRectifier` resamples the
    input first (its weights under ``rectifier.``).

    >>> from crnn_plugin import CRNN, PRESETS
    >>> model = CRNN(PRESETS["crnn_small"]).eval()
    >>> model(torch.zeros(1, 3, 32, 100)).shape
    torch.Size([1, 26, 95])
    """

    def __init__(self, config: CRNNConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CRNNConfig()
        c = config.conv_channels
        bn = [config.batchnorm == "all"] * 7
        bn[4] = bn[5] = True
        kh = config.input_height // 16  # last height pooling: 32 -> 2 rows, 48 -> 3 rows

        def block(i: int, cin: int, k: int, p: int) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(cin, c[i], k, 1, p, bias=not bn[i])]
            if bn[i]:
                layers.append(nn.BatchNorm2d(c[i]))
            layers.append(nn.ReLU(inplace=True))
            return layers

        self.features = nn.Sequential(
            *block(0, config.in_channels, 3, 1),
            nn.MaxPool2d(2, 2),
            *block(1, c[0], 3, 1),
            nn.MaxPool2d(2, 2),
            *block(2, c[1], 3, 1),
            *block(3, c[2], 3, 1),
            nn.MaxPool2d((2, 2), (2, 1), (0, 1)),
            *block(4, c[3], 3, 1),
            *block(5, c[4], 3, 1),
            nn.MaxPool2d((kh, 2), (kh, 1), (0, 1)),
            *block(6, c[5], 2, 0),
        )
        self.rnn = nn.LSTM(
            c[6],
            config.hidden_size,
            num_layers=config.num_lstm_layers,
            bidirectional=True,
            batch_first=True,
            dropout=config.dropout if config.num_lstm_layers > 1 else 0.0,
        )
        self.classifier = nn.Linear(2 * config.hidden_size, config.num_classes)
        self._init_weights()
        # after _init_weights: the rectifier keeps its own (identity) initialisation
        self.rectifier = TPSRectifier(config.in_channels) if config.rectifier == "tps" else None

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def vocab(self) -> str:
        """Characters the model reads; class ``len(vocab)`` is the CTC blank."""
        return self.config.vocab

    def sequence_features(self, x: torch.Tensor) -> torch.Tensor:
        """Map-to-sequence: ``(N, C, H, W)`` images to ``(N, T, C')`` column features (rectified
        first when the model has a rectifier)."""
        c, h = self.config.in_channels, self.config.input_height
        if x.dim() != 4 or x.shape[1] != c or x.shape[2] != h:
            raise ValueError(f"expected input of shape (N, {c}, {h}, W), got {tuple(x.shape)}")
        if x.shape[3] < self.config.min_width:
            raise ValueError(f"input width {x.shape[3]} < min_width {self.config.min_width}")
        if self.rectifier is not None:
            x = self.rectifier(x)
        f = self.features(x)  # (N, C', 1, T)
        return f.squeeze(2).transpose(1, 2)  # frame t = column t, left to right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame class logits ``(N, T, num_classes)``."""
        seq = self.sequence_features(x)
        seq, _ = self.rnn(seq)
        return self.classifier(seq)
