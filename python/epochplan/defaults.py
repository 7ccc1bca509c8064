"""Every default, choice and schema name the Python layer uses, declared once.

The near-duplicate and normalisation defaults and their valid choices belong to the Rust core;
the binding exposes them as `_epochplan.DEFAULTS` and `_epochplan.CHOICES`. The CLI, the
configuration keys, the API signatures and the result dataclasses read them from here, so a
changed default in the core reaches every one of them.
"""

from __future__ import annotations

import os
from typing import Any

# Until the binding exports DEFAULTS/CHOICES (issue 10, Rust side), the core's values as of
# 408798e (rust/epochplan-core/src/near/options.rs). Remove once the binding has them.
_FALLBACK_DEFAULTS: dict[str, Any] = {
    "normalize": "default",
    "shingle": "word",
    "threshold": 0.7,
    "ngram": 5,
    "num_perm": 128,
    "min_memory_budget": 16 << 20,
}
_FALLBACK_CHOICES: dict[str, list[str]] = {"normalize": ["default", "none"], "shingle": ["word", "char"]}

try:
    from ._epochplan import CHOICES as _CORE_CHOICES
    from ._epochplan import DEFAULTS as _CORE_DEFAULTS
except ImportError:  # a binding built before it exported them
    _CORE_DEFAULTS, _CORE_CHOICES = {}, {}

CORE_DEFAULTS: dict[str, Any] = {**_FALLBACK_DEFAULTS, **_CORE_DEFAULTS}
CORE_CHOICES: dict[str, list[str]] = {**_FALLBACK_CHOICES, **_CORE_CHOICES}

NORMALIZE: str = CORE_DEFAULTS["normalize"]
SHINGLE: str = CORE_DEFAULTS["shingle"]
THRESHOLD: float = float(CORE_DEFAULTS["threshold"])
NGRAM: int = int(CORE_DEFAULTS["ngram"])
NUM_PERM: int = int(CORE_DEFAULTS["num_perm"])
# The binding may name the floor either way; both mean the smallest budget the core accepts.
MIN_MEMORY_BUDGET: int = int(CORE_DEFAULTS.get("min_memory_budget", CORE_DEFAULTS.get("memory_budget_min", 16 << 20)))

NORMALIZE_MODES: tuple[str, ...] = tuple(CORE_CHOICES["normalize"])
SHINGLE_KINDS: tuple[str, ...] = tuple(CORE_CHOICES["shingle"])

#: Near detection is on unless switched off (--no-near / near = false).
NEAR = True

#: Rows per batch handed to the core (EPOCHPLAN_BATCH_ROWS overrides it).
BATCH_ROWS = 50_000

AUDIT_SCHEMA = "epochplan.audit/1"
PLAN_SCHEMA = "epochplan.plan/1"
CHECK_SCHEMA = "epochplan.check/1"


def default_memory_budget() -> int:
    """A quarter of physical memory, at most 1 GiB: keeps a 5 M-row near audit under 2 GB RSS."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 4 << 30
    return max(64 << 20, min(1 << 30, total // 4))
