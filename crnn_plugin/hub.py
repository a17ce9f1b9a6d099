"""Weights I/O: ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub`` with safetensors.

A model folder holds ``config.json``, ``model.safetensors`` and ``README.md`` (the model card),
the layout of a Hugging Face Hub model repo, and optionally ``model.int8.onnx`` (the int8 CPU
export made by ``scripts/export_onnx.py``, see :mod:`crnn_plugin.onnx_backend`).
``from_pretrained`` accepts a local folder, the short name of a model shipped with the package,
or a Hub repo id (resolved by
``huggingface_hub.snapshot_download``, so its cache, ``HF_HUB_OFFLINE`` and revisions apply).
Loading is strict and never unpickles anything. A model folder may come from anyone, so
``config.json`` is checked against the safetensors header (every tensor's name, shape and dtype,
read without the tensor data) before any layer is built, and non-finite weights are refused.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from .config import CRNNConfig
from .errors import WeightsError
from .model import CRNN
from .model_folder import (  # the torch-free reading of a model folder (the light install's)
    CONFIG_NAME,
    DEFAULT_MODEL,
    MODEL_CARD_NAME,
    WEIGHTS_NAME,
    _short,
    expected_tensors,
    load_config,
    resolve_model_dir,
    shipped_models,
)

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "MODEL_CARD_NAME",
    "DEFAULT_MODEL",
    "save_pretrained",
    "from_pretrained",
    "push_to_hub",
    "shipped_models",
    "resolve_model_dir",
    "load_folder",
    "load_config",
    "expected_tensors",
]

logger = logging.getLogger(__name__)


def save_pretrained(model: CRNN, save_directory: str | Path, *, model_card: str | None = None) -> Path:
    """Write ``config.json``, ``model.safetensors`` and ``README.md`` into ``save_directory``."""
    from safetensors.torch import save_file

    out = Path(save_directory)
    out.mkdir(parents=True, exist_ok=True)
    model.config.save(out / CONFIG_NAME)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS_NAME), metadata={"format": "pt", "arch": model.config.arch})
    # safetensors writes 0600: give the weights the mode config.json got from the umask
    os.chmod(out / WEIGHTS_NAME, (out / CONFIG_NAME).stat().st_mode & 0o777)
    card = model_card if model_card is not None else default_model_card(model.config)
    (out / MODEL_CARD_NAME).write_text(card, encoding="utf-8")
    return out


def default_model_card(config: CRNNConfig) -> str:
    """A minimal model card for a saved model."""
    return (
        "---\nlibrary_name: crnn_plugin\ntags:\n- ocr\n- text-recognition\n- crnn\n---\n\n"
        f"# {config.arch}\n\nA CRNN (Shi, Bai & Yao, 2015) word recognizer saved by crnn_plugin.\n"
        f"Vocabulary: {len(config.vocab)} characters. Load it with "
        "`crnn_plugin.from_pretrained(path_or_repo_id)`.\n"
    )


def from_pretrained(
    name_or_path: str | os.PathLike[str] | None = None,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool | None = None,
    token: str | bool | None = None,
    device: str | torch.device = "cpu",
) -> CRNN:
    """Load a CRNN (in eval mode) from a folder, a shipped model name or a Hub repo id.

    >>> model = from_pretrained()  # the default shipped weights, offline
    """
    folder = resolve_model_dir(
        name_or_path,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
    )
    return load_folder(folder, device=device)


def load_folder(folder: Path, *, device: str | torch.device = "cpu") -> CRNN:
    """Strictly load ``folder/config.json`` + ``folder/model.safetensors``.

    Order matters for untrusted folders: the config is checked against the weights' header
    first, so that nothing is allocated for a config the weights do not back; then the tensors
    are read and must be finite; only then is the model built.
    """
    config = load_config(folder)
    w_path = folder / WEIGHTS_NAME
    state = _read_safetensors(w_path)
    _check_finite(state, w_path)
    model = CRNN(config)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{path}: not a valid safetensors file ({e})") from e


def _check_finite(state: dict[str, torch.Tensor], w_path: Path) -> None:
    """NaN or infinite weights read garbage at full confidence: refuse them, naming the tensors."""
    bad = sorted(k for k, t in state.items() if t.is_floating_point() and not bool(torch.isfinite(t).all()))
    if bad:
        raise WeightsError(f"{w_path}: non-finite values (NaN or infinity) in {_short(bad)}")


def push_to_hub(
    model: CRNN,
    repo_id: str,
    *,
    model_card: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Upload CRNN",
) -> str:
    """Create ``repo_id`` if needed and upload the three model files; returns the commit URL."""
    import tempfile

    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(model, tmp, model_card=model_card)
        info = api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message=commit_message)
    return str(info)
