"""Weights I/O: ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub`` with safetensors.

A model folder holds ``config.json``, ``model.safetensors`` and ``README.md`` (the model card),
the layout of a Hugging Face Hub model repo, and optionally ``model.int8.onnx`` (the int8 CPU
export made by ``scripts/export_onnx.py``, see :mod:`crnn_plugin.onnx_backend`).
``from_pretrained`` accepts a local folder, the short name of a model shipped with the package,
or a Hub repo id (resolved by
``huggingface_hub.snapshot_download``, so its cache, ``HF_HUB_OFFLINE`` and revisions apply).
Loading is strict and never unpickles anything.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch

from .config import CRNNConfig
from .errors import WeightsError
from .model import CRNN
from .onnx_backend import INT8_NAME

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
]

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODEL_CARD_NAME = "README.md"
#: Short name of the model loaded when none is given.
DEFAULT_MODEL = "crnn-small-en"
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
    """Strictly load ``folder/config.json`` + ``folder/model.safetensors``."""
    cfg_path, w_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not cfg_path.is_file():
        raise WeightsError(f"{folder}: missing {CONFIG_NAME}")
    if not w_path.is_file():
        raise WeightsError(f"{folder}: missing {WEIGHTS_NAME}")
    config = CRNNConfig.load(cfg_path)
    model = CRNN(config)
    state = _read_safetensors(w_path)
    _check_state(model, state, w_path, cfg_path)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{path}: not a valid safetensors file ({e})") from e


def _check_state(model: CRNN, state: dict[str, torch.Tensor], w_path: Path, cfg_path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        f"{k}: file {tuple(state[k].shape)} vs config {tuple(expected[k].shape)}"
        for k in set(state) & set(expected)
        if state[k].shape != expected[k].shape
    )
    dtypes = sorted(  # an integer tensor would be copied into a float parameter without a word
        f"{k}: file {state[k].dtype} vs model {expected[k].dtype}"
        for k in set(state) & set(expected)
        if expected[k].is_floating_point() and not state[k].is_floating_point()
    )
    problems = []
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


def _short(items: list[str], n: int = 6) -> str:
    return str(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


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
