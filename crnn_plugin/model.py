"""The CRNN network of Shi, Bai & Yao (2015): VGG-style convolutions, map-to-sequence, BiLSTM."""

from __future__ import annotations

import torch
from torch import nn

from .config import CRNNConfig

__all__ = ["CRNN", "num_frames"]


def num_frames(width: int) -> int:
    """Frames ``T`` the network emits for an input ``width`` pixels wide."""
    w = width // 2 // 2  # two 2x2 max-pools
    w = w + 1 + 1  # two (2, 1)-stride pools with width padding 1
    return w - 1  # final 2x2 convolution without padding


class CRNN(nn.Module):
    """Convolutional recurrent network with a CTC head.

    Input ``(N, C, 32, W)`` normalised images; output ``(N, T, len(vocab) + 1)`` logits with
    ``T = W // 4 + 1`` and the CTC blank at the last index.

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
            nn.MaxPool2d((2, 2), (2, 1), (0, 1)),
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
        """Map-to-sequence: ``(N, C, 32, W)`` images to ``(N, T, C')`` column features."""
        if x.dim() != 4 or x.shape[1] != self.config.in_channels or x.shape[2] != 32:
            raise ValueError(
                f"expected input of shape (N, {self.config.in_channels}, 32, W), got {tuple(x.shape)}"
            )
        if x.shape[3] < self.config.min_width:
            raise ValueError(f"input width {x.shape[3]} < min_width {self.config.min_width}")
        f = self.features(x)  # (N, C', 1, T)
        return f.squeeze(2).transpose(1, 2)  # frame t = column t, left to right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame class logits ``(N, T, num_classes)``."""
        seq = self.sequence_features(x)
        seq, _ = self.rnn(seq)
        return self.classifier(seq)
