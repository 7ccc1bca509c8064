"""epochplan: audit a training dataset and plan how long to train on it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._epochplan import __version__

if TYPE_CHECKING:
    from .auditing import AuditResult, audit, dedup
    from .errors import ConfigError, EngineError, EpochplanError, InputError, InternalError, StorageError
    from .planning import Plan, Setup, plan

# Loaded on first use (PEP 562), so that `import epochplan.cli` runs the command line's own setup
# (one BLAS thread) before numpy is imported by the auditing and planning modules.
_EXPORTS = {
    "audit": ".auditing",
    "dedup": ".auditing",
    "AuditResult": ".auditing",
    "plan": ".planning",
    "Plan": ".planning",
    "Setup": ".planning",
    "EpochplanError": ".errors",
    "InputError": ".errors",
    "ConfigError": ".errors",
    "InternalError": ".errors",
    "StorageError": ".errors",
    "EngineError": ".errors",
}

__all__ = [
    "__version__",
    "audit",
    "dedup",
    "AuditResult",
    "plan",
    "Plan",
    "Setup",
    "EpochplanError",
    "InputError",
    "ConfigError",
    "InternalError",
    "StorageError",
    "EngineError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'epochplan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
