"""epochplan: audit a training dataset and plan how long to train on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._epochplan import __version__
from .lazy_exports import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
