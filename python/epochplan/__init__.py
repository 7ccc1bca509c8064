"""epochplan: audit a training dataset and plan how long to train on it."""

from ._epochplan import __version__
from .auditing import AuditResult, audit, dedup
from .errors import ConfigError, EngineError, EpochplanError, InputError, InternalError, StorageError
from .planning import Plan, Setup, plan

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
