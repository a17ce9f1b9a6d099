"""Named generator modes: the default mix, and each scene family forced on (previews, speed, tests)."""

from __future__ import annotations

import dataclasses

from .synth_config import SynthConfig

__all__ = ["MODES", "mode_config"]

# Every scene family off: the base the single-family modes switch one family on in.
_PLAIN = {"p_line": 0.0, "p_arc": 0.0, "p_strong_perspective": 0.0, "p_3d": 0.0, "p_photo": 0.0}

#: mode name -> SynthConfig fields changed from the defaults (``default``: none)
MODES: dict[str, dict[str, float]] = {
    "default": {},
    "words": _PLAIN,
    "lines": {**_PLAIN, "p_line": 1.0},
    "curved": {**_PLAIN, "p_arc": 1.0},
    "perspective": {**_PLAIN, "p_strong_perspective": 1.0},
    "tilted": {**_PLAIN, "p_tilt": 1.0},
    "emboss": {**_PLAIN, "p_3d": 1.0, "w_extrude": 0.0, "w_drop_shadow": 0.0},
    "extrusion": {**_PLAIN, "p_3d": 1.0, "w_emboss": 0.0, "w_drop_shadow": 0.0},
    "drop_shadow": {**_PLAIN, "p_3d": 1.0, "w_emboss": 0.0, "w_extrude": 0.0},
    "photo": {**_PLAIN, "p_photo": 1.0},
    "neighbours": {**_PLAIN, "p_neighbors": 0.5, "p_side_neighbors": 1.0},
}


def mode_config(name: str, **overrides: object) -> SynthConfig:
    """The :class:`SynthConfig` of mode ``name`` (see :data:`MODES`), with ``overrides`` applied."""
    if name not in MODES:
        raise ValueError(f"unknown synth mode {name!r}; choose from {sorted(MODES)}")
    return dataclasses.replace(SynthConfig(), **{**MODES[name], **overrides})  # type: ignore[arg-type]
