"""epochplan: audit a training dataset and plan how long to train on it."""

from ._epochplan import __version__
from .audit import audit
from .dedup import dedup
from .errors import ConfigError, EpochplanError, InputError, InternalError
from .plan import Plan, Setup, plan
from .result import AuditResult

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
]
