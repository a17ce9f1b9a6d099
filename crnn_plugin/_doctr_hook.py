"""Register with docTR as soon as docTR is imported, without importing docTR ourselves.

``import crnn_plugin`` calls :func:`install`: if ``doctr.models`` is already imported it registers
at once; otherwise a meta-path finder waits for ``doctr.models`` to finish importing, registers,
and removes itself. Users who never import docTR pay nothing (no docTR import).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

logger = logging.getLogger(__name__)
_TARGET = "doctr.models"


def _register() -> None:
    partial = sys.modules.get("crnn_plugin.doctr_plugin")
    if partial is not None and not hasattr(partial, "register_doctr"):
        return  # crnn_plugin.doctr_plugin is importing docTR right now; it registers when done
    try:
        from .doctr_plugin import register_doctr

        register_doctr()
    except Exception as e:  # noqa: BLE001 - a docTR version we cannot patch must not break its import
        logger.warning("crnn_plugin: could not register with docTR: %s", e)


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped: importlib.abc.Loader) -> None:
        self._wrapped = wrapped

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._wrapped.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._wrapped.exec_module(module)
        _uninstall()
        _register()


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader)
                return spec
        return None


_FINDER = _Finder()


def _uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install() -> None:
    """Register now if docTR is loaded, else once it is (idempotent)."""
    if _TARGET in sys.modules:
        _register()
    elif _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
