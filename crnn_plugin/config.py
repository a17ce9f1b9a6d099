"""Model configuration: everything needed to rebuild a CRNN, stored as ``config.json``."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .vocab import DEFAULT_VOCAB

__all__ = ["CRNNConfig", "PRESETS", "MAX_CONFIG_BYTES"]

#: ``config.json`` files larger than this are refused unread (ours are under 1 KB; a 10,000-character
#: vocabulary escaped as ``\\uXXXX`` is 60 KB).
MAX_CONFIG_BYTES = 1 << 20
#: Widths outside these bounds are refused: every crop is padded to ``min_width`` and may be
#: stretched to ``max_width``, so a hostile config could otherwise make each crop gigabytes wide.
MAX_MIN_WIDTH = 1024
MAX_MAX_WIDTH = 8192
#: Input heights the network can collapse to one row.
INPUT_HEIGHTS = (32, 48)
#: Values of ``rectifier``.
RECTIFIERS = ("none", "tps")
#: Keys added after the first models shipped: written only when they differ from these defaults.
OMITTED_AT_DEFAULT: dict[str, Any] = {"rectifier": "none"}
_MAX_INT_DIGITS = 30  # JSON integers longer than this are not parsed (Python refuses > 4300 digits)

_brief_repr = reprlib.Repr()
_brief_repr.maxstring = _brief_repr.maxother = 60
_brief_repr.maxlist = _brief_repr.maxtuple = _brief_repr.maxdict = 8
_brief_repr.maxlevel = 3


def _brief(value: object) -> str:
    """A bounded ``repr`` for error messages: a hostile value must not make a megabyte-long line."""
    return _brief_repr.repr(value)


class _HugeInt(str):
    """A JSON integer with more than ``_MAX_INT_DIGITS`` digits, kept as text so that it can be named."""

    def __repr__(self) -> str:
        return f"<integer of {len(self.lstrip('-'))} digits>"


def _parse_int(text: str) -> int | _HugeInt:
    return _HugeInt(text) if len(text.lstrip("-")) > _MAX_INT_DIGITS else int(text)


@dataclass(frozen=True)
class CRNNConfig:
    """Architecture, vocabulary and input normalisation of a CRNN.

    ``conv_channels`` are the widths of the seven convolutions of Table 1 of Shi et al. (2015):
    six 3x3 convolutions and a final 2x2 one. ``batchnorm`` adds batch normalisation after every
    convolution (the paper has it after the 5th and 6th only). ``input_height`` is 32 (the
    paper's) or 48 (PP-OCR's; the last height pooling takes 3 rows instead of 2, so the frames per
    width are the same). ``rectifier="tps"`` puts a thin-plate-spline rectifier
    (:mod:`crnn_plugin.rectifier`) in front of the convolutions. Keys at their defaults in
    ``OMITTED_AT_DEFAULT`` are left out of :meth:`to_dict`, so older configs (and weight digests)
    stay byte for byte the same.
    """

    arch: str = "crnn"
    vocab: str = DEFAULT_VOCAB
    input_height: int = 32
    in_channels: int = 3
    conv_channels: tuple[int, ...] = (64, 128, 256, 256, 512, 512, 512)
    batchnorm: str = "all"  # "all" or "paper" (after conv 5 and 6 only)
    hidden_size: int = 256
    num_lstm_layers: int = 2
    dropout: float = 0.0
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)  # one per input channel
    std: tuple[float, ...] = (0.5, 0.5, 0.5)
    min_width: int = 8
    max_width: int = 1600  # 50:1 at height 32; wider crops are squeezed to it
    rectifier: str = "none"  # "none" or "tps"
    docs: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for key in ("conv_channels", "mean", "std"):  # lists are fine in Python too
            if isinstance(getattr(self, key), list):
                object.__setattr__(self, key, tuple(getattr(self, key)))
        self._check_types()
        # numpy integers pass the checks; torch's layers want Python ints
        for key in (
            "input_height",
            "in_channels",
            "hidden_size",
            "num_lstm_layers",
            "min_width",
            "max_width",
        ):
            object.__setattr__(self, key, int(getattr(self, key)))
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        object.__setattr__(self, "dropout", float(self.dropout))  # numpy floats: JSON and digests
        object.__setattr__(self, "mean", tuple(float(x) for x in self.mean))
        object.__setattr__(self, "std", tuple(float(x) for x in self.std))
        if len(self.conv_channels) != 7:
            raise ConfigError(f"conv_channels needs 7 widths, got {len(self.conv_channels)}")
        if self.input_height not in INPUT_HEIGHTS:
            raise ConfigError(f"input_height must be 32 or 48, got {self.input_height!r}")
        if self.rectifier not in RECTIFIERS:
            raise ConfigError(f"rectifier must be 'none' or 'tps', got {self.rectifier!r}")
        if self.batchnorm not in ("all", "paper"):
            raise ConfigError(f"batchnorm must be 'all' or 'paper', got {self.batchnorm!r}")
        if self.in_channels not in (1, 3):
            raise ConfigError(f"in_channels must be 1 or 3, got {self.in_channels}")
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ConfigError("mean and std need one value per input channel")
        if not self.vocab or len(set(self.vocab)) != len(self.vocab):
            raise ConfigError("vocab must be a non-empty string without duplicates")
        if not 8 <= self.min_width <= self.max_width:
            raise ConfigError("need 8 <= min_width <= max_width")
        if self.min_width > MAX_MIN_WIDTH or self.max_width > MAX_MAX_WIDTH:
            raise ConfigError(
                f"need min_width <= {MAX_MIN_WIDTH} and max_width <= {MAX_MAX_WIDTH}, "
                f"got {self.min_width} and {self.max_width}"
            )

    def _check_types(self) -> None:
        """JSON gives any type: refuse what the model cannot be built from, naming the key."""

        def is_int(v: object) -> bool:
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        def is_num(v: object) -> bool:
            return isinstance(v, numbers.Real) and not isinstance(v, bool)

        def bad(key: str, want: str) -> ConfigError:
            v = getattr(self, key)
            return ConfigError(f"{key} must be {want}, got {_brief(v)} ({type(v).__name__})")

        for key in ("arch", "vocab", "batchnorm", "rectifier"):
            if not isinstance(getattr(self, key), str):
                raise bad(key, "a string")
        for key in ("input_height", "in_channels", "min_width", "max_width"):
            if not is_int(getattr(self, key)):
                raise bad(key, "an integer")
        for key in ("hidden_size", "num_lstm_layers"):
            if not is_int(getattr(self, key)) or getattr(self, key) < 1:
                raise bad(key, "an integer >= 1")
        if not isinstance(self.conv_channels, tuple) or not all(
            is_int(c) and c >= 1 for c in self.conv_channels
        ):
            raise bad("conv_channels", "a list of integers >= 1")
        if not is_num(self.dropout) or not 0.0 <= self.dropout < 1.0:
            raise bad("dropout", "a number in [0, 1)")
        for key in ("mean", "std"):
            v = getattr(self, key)
            if not isinstance(v, tuple) or not all(is_num(x) and math.isfinite(x) for x in v):
                raise bad(key, "a list of finite numbers")
        if not all(x > 0 for x in self.std):
            raise bad("std", "a list of numbers > 0")

    @property
    def num_classes(self) -> int:
        """Output classes, the CTC blank (last index) included."""
        return len(self.vocab) + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d.pop("docs")
        for key, default in OMITTED_AT_DEFAULT.items():
            if d[key] == default:
                del d[key]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> CRNNConfig:
        """Build from a dict, refusing unknown keys (names them) and coercing lists to tuples."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)} - {"docs"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{source}: unknown config keys {_brief(unknown)}")
        for key, value in data.items():  # integers too long to be parsed (see load)
            items = value if isinstance(value, list) else [value]
            huge = [v for v in items if isinstance(v, _HugeInt)]
            if huge:
                raise ConfigError(f"{source}: {key}: {huge[0]!r} is not a usable number")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**kwargs)
        except (TypeError, ConfigError) as e:
            raise ConfigError(f"{source}: {e}") from e

    def save(self, path: str | Path) -> None:
        """Write ``config.json``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> CRNNConfig:
        """Read ``config.json``; errors name the file (and the key).

        The file may come from anywhere (a Hub repo): at most ``MAX_CONFIG_BYTES`` are read, deep
        nesting and integers too long to parse are ``ConfigError``s, not Python's own errors.
        """
        path = Path(path)
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_CONFIG_BYTES + 1)
        except FileNotFoundError as e:
            raise ConfigError(f"config file not found: {path}") from e
        except OSError as e:
            raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from e
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes, not a model config")
        try:
            data = json.loads(raw.decode("utf-8"), parse_int=_parse_int)
        except RecursionError as e:
            raise ConfigError(f"{path}: not a model config (JSON nested too deeply)") from e
        except (UnicodeDecodeError, ValueError) as e:  # json.JSONDecodeError is a ValueError
            raise ConfigError(f"{path}: not valid JSON ({e})") from e
        if isinstance(data, dict) and "vocab" not in data:  # a default would decode wrong characters
            raise ConfigError(f"{path}: no 'vocab' (the characters the model's classes stand for)")
        return cls.from_dict(data, source=str(path))


#: Named architectures. ``crnn`` is the paper's network; ``crnn_small`` halves every width.
PRESETS: dict[str, CRNNConfig] = {
    "crnn": CRNNConfig(arch="crnn"),
    "crnn_paper": CRNNConfig(arch="crnn_paper", batchnorm="paper"),
    "crnn_small": CRNNConfig(
        arch="crnn_small", conv_channels=(32, 64, 128, 128, 256, 256, 256), hidden_size=128
    ),
}
