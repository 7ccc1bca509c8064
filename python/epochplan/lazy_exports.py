"""A package's public names loaded on first use (PEP 562): `epochplan`, `epochplan.auditing` and
`epochplan.checking` name what their modules define without importing those (polars, numpy and
pyarrow come with them) until a name is asked for."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's module `__getattr__` and `__dir__`: `exports` maps each lazy name to the
    module (relative to `package`) that defines it; a name once loaded is kept in the package."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
