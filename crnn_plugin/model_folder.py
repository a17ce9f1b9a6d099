"""Reading a model folder without PyTorch: where it is, its checked config, its weights as numpy.

A model folder holds ``config.json``, ``model.safetensors``, ``README.md`` (the model card) and
optionally ``model.int8.onnx`` (the int8 CPU export). :func:`resolve_model_dir` finds one from a
local folder, the short name of a model shipped with the package, or a Hub repo id
(``huggingface_hub.snapshot_download``, imported only for repo ids). A folder may come from anyone:
:func:`load_config` checks ``config.json`` against the safetensors header (every tensor's name,
shape and dtype, read without the tensor data) before anything is built or allocated, and
:func:`read_weights` refuses non-finite weights. PyTorch loading (:mod:`crnn_plugin.hub`) builds on
the same checks.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .config import CRNNConfig
from .errors import WeightsError

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "MODEL_CARD_NAME",
    "INT8_NAME",
    "DEFAULT_MODEL",
    "shipped_models",
    "resolve_model_dir",
    "load_config",
    "expected_tensors",
    "read_weights",
]

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODEL_CARD_NAME = "README.md"
#: File name of the int8 ONNX export inside a model folder.
INT8_NAME = "model.int8.onnx"
#: Short name of the model loaded when none is given.
DEFAULT_MODEL = "crnn-small-en-v2"
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def _weights_root() -> Path | None:
    """Folder of the shipped weights: installed package data, else the source checkout."""
    try:
        from importlib.resources import files

        root = Path(str(files("crnn_plugin.weights")))
        if root.is_dir():
            return root
    except (ModuleNotFoundError, TypeError):
        pass
    candidate = Path(__file__).resolve().parent.parent / "weights"
    return candidate if candidate.is_dir() else None


def shipped_models() -> dict[str, Path]:
    """Short names of the models shipped with the package, mapped to their folders."""
    root = _weights_root()
    if root is None:
        return {}
    return {
        p.name: p
        for p in sorted(root.iterdir())
        if p.is_dir() and (p / CONFIG_NAME).is_file() and (p / WEIGHTS_NAME).is_file()
    }


def resolve_model_dir(
    name_or_path: str | os.PathLike[str] | None = None,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool | None = None,
    token: str | bool | None = None,
) -> Path:
    """Folder holding ``config.json`` and ``model.safetensors`` for a folder, shipped name or repo id."""
    name = str(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    if not name.strip():
        raise WeightsError("empty model name: pass a folder, a shipped model name or a Hub repo id")
    path = Path(name).expanduser()
    if path.is_dir():
        if revision is not None:
            logger.warning("%s is a local folder: revision=%r is ignored", path, revision)
        return path
    shipped = shipped_models()
    if name in shipped:
        return shipped[name]
    if path.exists():
        raise WeightsError(f"{path}: not a folder (expected a folder with {CONFIG_NAME} and {WEIGHTS_NAME})")
    if not _REPO_ID.match(name) or name.startswith((".", "/")) or os.sep in name.replace("/", "", 1):
        known = ", ".join(shipped) or "none found"
        raise WeightsError(
            f"{name!r} is not a folder, a shipped model (known: {known}) or a Hub repo id 'owner/name'"
        )
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    if constants.HF_HUB_OFFLINE:  # offline, a commit sha is otherwise looked up on the Hub (its file list)
        local_files_only = True

    try:
        local = snapshot_download(
            name,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=bool(local_files_only),
            token=token,
            allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, MODEL_CARD_NAME, INT8_NAME],
        )
    except LocalEntryNotFoundError as e:
        raise WeightsError(
            f"{name}: no such local folder, not in the Hugging Face cache, and the Hub cannot be "
            f"reached (offline or HF_HUB_OFFLINE=1); revision={revision or 'main'}"
        ) from e
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise WeightsError(f"{name}: cannot download from the Hugging Face Hub ({e})") from e
    return Path(local)


def load_config(folder: Path) -> CRNNConfig:
    """``folder/config.json``, checked against the header of ``folder/model.safetensors``.

    Reads no tensor data and builds nothing: the config's architecture must name exactly the
    tensors of the weights file, with their shapes, and float dtypes where the model has floats.
    """
    cfg_path, w_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not cfg_path.is_file():
        raise WeightsError(f"{folder}: missing {CONFIG_NAME}")
    if not w_path.is_file():
        raise WeightsError(f"{folder}: missing {WEIGHTS_NAME}")
    config = CRNNConfig.load(cfg_path)
    _check_header(config, _read_header(w_path), w_path, cfg_path)
    return config


def read_weights(folder: Path) -> dict[str, np.ndarray]:
    """The tensors of ``folder/model.safetensors`` as numpy arrays (safetensors' numpy API, no
    torch), refused when any float holds NaN or infinity. Call :func:`load_config` first: it
    checks the header before these bytes are read."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    w_path = folder / WEIGHTS_NAME
    try:
        state = load_file(str(w_path))
    except (SafetensorError, OSError, ValueError, TypeError) as e:
        if any(code == "BF16" for _, code in _read_header(w_path).values()):
            raise WeightsError(
                f"{w_path}: bfloat16 weights are read with PyTorch: pip install 'crnn-plugin[torch]'"
            ) from e
        raise WeightsError(f"{w_path}: not a valid safetensors file ({e})") from e
    bad = sorted(
        k for k, a in state.items() if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all()
    )
    if bad:
        raise WeightsError(f"{w_path}: non-finite values (NaN or infinity) in {_short(bad)}")
    return state


def expected_tensors(config: CRNNConfig) -> dict[str, tuple[tuple[int, ...], bool]]:
    """Name -> (shape, is_float) of every tensor in the state dict of ``CRNN(config)``, computed
    from the config alone (no layer is built). Mirrors :class:`crnn_plugin.model.CRNN`; the tests
    compare the two for every preset."""
    return _expected(config, config.num_lstm_layers)


def _expected(config: CRNNConfig, lstm_layers: int) -> dict[str, tuple[tuple[int, ...], bool]]:
    out: dict[str, tuple[tuple[int, ...], bool]] = {}
    for name, shape in _conv_tensors(config):
        out[name] = (shape, not name.endswith("num_batches_tracked"))
    h, c_last = config.hidden_size, config.conv_channels[-1]
    for layer in range(lstm_layers):
        n_in = c_last if layer == 0 else 2 * h
        for sfx in (f"l{layer}", f"l{layer}_reverse"):
            out[f"rnn.weight_ih_{sfx}"] = ((4 * h, n_in), True)
            out[f"rnn.weight_hh_{sfx}"] = ((4 * h, h), True)
            out[f"rnn.bias_ih_{sfx}"] = ((4 * h,), True)
            out[f"rnn.bias_hh_{sfx}"] = ((4 * h,), True)
    out["classifier.weight"] = ((config.num_classes, 2 * h), True)
    out["classifier.bias"] = ((config.num_classes,), True)
    if config.rectifier == "tps":
        out.update(_tps_tensors(config.in_channels))
    return out


def _tps_tensors(in_channels: int) -> dict[str, tuple[tuple[int, ...], bool]]:
    """The ``rectifier.*`` tensors of :class:`crnn_plugin.rectifier.TPSRectifier` (its defaults:
    four conv + BatchNorm blocks of 32, 64, 128, 128 channels on a 32x64 copy, a 1024 -> 128 layer,
    20 control points)."""
    out: dict[str, tuple[tuple[int, ...], bool]] = {}
    c_in = in_channels
    for i, c in enumerate((32, 64, 128, 128)):
        out[f"rectifier.loc.{4 * i}.weight"] = ((c, c_in, 3, 3), True)
        for name in ("weight", "bias", "running_mean", "running_var"):
            out[f"rectifier.loc.{4 * i + 1}.{name}"] = ((c,), True)
        out[f"rectifier.loc.{4 * i + 1}.num_batches_tracked"] = ((), False)
        c_in = c
    out["rectifier.fc.0.weight"] = ((128, 128 * 2 * 4), True)
    out["rectifier.fc.0.bias"] = ((128,), True)
    out["rectifier.points.weight"] = ((40, 128), True)
    out["rectifier.points.bias"] = ((40,), True)
    return out


def _conv_tensors(config: CRNNConfig) -> Iterator[tuple[str, tuple[int, ...]]]:
    """The ``features.*`` tensors: seven conv (+ BatchNorm) + ReLU blocks, max-pools after 1, 2, 4, 6."""
    c = config.conv_channels
    idx, c_in = 0, config.in_channels
    for i in range(7):
        k = 2 if i == 6 else 3
        bn = config.batchnorm == "all" or i in (4, 5)
        yield f"features.{idx}.weight", (c[i], c_in, k, k)
        if not bn:
            yield f"features.{idx}.bias", (c[i],)
        idx += 1
        if bn:
            for name in ("weight", "bias", "running_mean", "running_var"):
                yield f"features.{idx}.{name}", (c[i],)
            yield f"features.{idx}.num_batches_tracked", ()
            idx += 1
        idx += 1 if i not in (0, 1, 3, 5) else 2  # the ReLU, and the max-pool after it
        c_in = c[i]


#: safetensors dtype codes, named as torch names them (for messages; any ``F*``/``BF16`` is a float)
_DTYPES = {
    "F64": "torch.float64",
    "F32": "torch.float32",
    "F16": "torch.float16",
    "BF16": "torch.bfloat16",
    "I64": "torch.int64",
    "I32": "torch.int32",
    "I16": "torch.int16",
    "I8": "torch.int8",
    "U8": "torch.uint8",
    "BOOL": "torch.bool",
}


def _read_header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name -> (shape, dtype code) of every tensor, from the header alone (no tensor data read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            header = {}
            keys = f.keys()  # a safe_open handle is not iterable
            for key in keys:
                info = f.get_slice(key)
                header[key] = (tuple(int(n) for n in info.get_shape()), str(info.get_dtype()))
            return header
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{path}: not a valid safetensors file ({e})") from e


def _lstm_layers(keys: set[str]) -> int:
    """LSTM layers 0, 1, ... present in the file: counted, never read from a name (a lone
    ``rnn.weight_ih_l999999999`` must not make a billion-layer config look backed)."""
    n = 0
    while f"rnn.weight_ih_l{n}" in keys:
        n += 1
    return n


def _check_header(
    config: CRNNConfig, header: dict[str, tuple[tuple[int, ...], str]], w_path: Path, cfg_path: Path
) -> None:
    """Refuse a config that the weights file does not back, before anything is built."""
    problems = []
    in_file = _lstm_layers(set(header))
    if config.num_lstm_layers != in_file:
        problems.append(
            f"num_lstm_layers is {config.num_lstm_layers} in the config, "
            f"the weights hold {in_file} LSTM layers"
        )
    # layers beyond the file's are not listed one by one (10^7 layers would be 8 * 10^7 names)
    expected = _expected(config, min(config.num_lstm_layers, in_file))
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    common = sorted(set(header) & set(expected))
    shapes = [
        f"{k}: file {header[k][0]} vs config {expected[k][0]}"
        for k in common
        if header[k][0] != expected[k][0]
    ]
    dtypes = [  # an integer tensor would be copied into a float parameter without a word
        f"{k}: file {_DTYPES.get(header[k][1], header[k][1])} vs model torch.float32"
        for k in common
        if expected[k][1] and not header[k][1].startswith(("F", "BF"))
    ]
    problems += _config_hints(config, header)
    if missing:
        problems.append(f"missing tensors {_short(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors {_short(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches {_short(shapes)}")
    if dtypes:
        problems.append(f"dtype mismatches {_short(dtypes)}")
    if problems:
        raise WeightsError(f"{w_path} does not match {cfg_path}: " + "; ".join(problems))


def _config_hints(config: CRNNConfig, header: dict[str, tuple[tuple[int, ...], str]]) -> list[str]:
    """The config keys that disagree with the weights, where the header says what they should be."""
    hints = []

    def shape(key: str) -> tuple[int, ...] | None:
        return header[key][0] if key in header else None

    hh = shape("rnn.weight_hh_l0")
    if hh is not None and len(hh) == 2 and hh[1] != config.hidden_size:
        hints.append(f"hidden_size is {config.hidden_size} in the config, {hh[1]} in the weights")
    conv = [name for name, s in _conv_tensors(config) if len(s) == 4]
    widths = [shape(name) for name in conv]
    if all(w is not None and len(w) == 4 for w in widths):
        file_widths = tuple(w[0] for w in widths if w is not None)
        if file_widths != config.conv_channels:
            hints.append(
                f"conv_channels are {list(config.conv_channels)} in the config, "
                f"{list(file_widths)} in the weights"
            )
    bias = shape("classifier.bias")
    if bias is not None and len(bias) == 1 and bias[0] != config.num_classes:
        hints.append(
            f"vocab has {len(config.vocab)} characters in the config, the weights have "
            f"{bias[0] - 1} (+ the CTC blank)"
        )
    return hints


def _short(items: list[str], n: int = 6) -> str:
    """The first ``n`` items, each cut to 120 characters (tensor names come from the file)."""
    shown = [s if len(s) <= 120 else s[:117] + "..." for s in items[:n]]
    return str(shown) + (f" and {len(items) - n} more" if len(items) > n else "")
