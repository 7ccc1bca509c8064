"""Every default, choice and schema name the Python layer uses, declared once.

The near-duplicate and normalisation defaults and their valid choices belong to the Rust core;
the binding exposes them as `_epochplan.DEFAULTS` and `_epochplan.CHOICES`. The CLI, the
configuration keys, the API signatures and the result dataclasses read them from here, so a
changed default in the core reaches every one of them.
"""

from __future__ import annotations

import os
from typing import Any

from ._epochplan import CHOICES as _CORE_CHOICES
from ._epochplan import DEFAULTS as _CORE_DEFAULTS
from ._epochplan import memory_budget_for
from ._epochplan import preview as _core_preview

CORE_DEFAULTS: dict[str, Any] = dict(_CORE_DEFAULTS)
CORE_CHOICES: dict[str, list[str]] = {name: list(values) for name, values in _CORE_CHOICES.items()}

NORMALIZE: str = CORE_DEFAULTS["normalize"]
SHINGLE: str = CORE_DEFAULTS["shingle"]
THRESHOLD: float = float(CORE_DEFAULTS["threshold"])
NGRAM: int = int(CORE_DEFAULTS["ngram"])
CHAR_NGRAM: int = int(CORE_DEFAULTS["char_ngram"])
CLUSTERING: str = CORE_DEFAULTS["clustering"]
VERIFY: str = CORE_DEFAULTS["verify"]
TEMPLATE_SHARE: float = float(CORE_DEFAULTS["template_share"])
NUM_PERM: int = int(CORE_DEFAULTS["num_perm"])
MAX_NUM_PERM: int = int(CORE_DEFAULTS["max_num_perm"])
NEAR_MAX_CHECKS: int = int(CORE_DEFAULTS["near_max_checks"])
MIN_MEMORY_BUDGET: int = int(CORE_DEFAULTS["min_memory_budget"])
#: Characters (code points) a cluster's stored preview (`top[].preview`) holds at most; the core
#: ends it on a whole visible character (grapheme cluster).
PREVIEW_CHARS: int = len(_core_preview("x" * 4096, "none"))

NORMALIZE_MODES: tuple[str, ...] = tuple(CORE_CHOICES["normalize"])
SHINGLE_KINDS: tuple[str, ...] = tuple(CORE_CHOICES["shingle"])
CLUSTERINGS: tuple[str, ...] = tuple(CORE_CHOICES["clustering"])
VERIFICATIONS: tuple[str, ...] = tuple(CORE_CHOICES["verify"])

#: Near detection is on unless switched off (--no-near / near = false).
NEAR = True

#: Rows per batch handed to the core (EPOCHPLAN_BATCH_ROWS overrides it).
BATCH_ROWS = 50_000
#: Where an audit reads and measures its input (`epochplan.engines`); the first is the default.
ENGINES = ("local", "ray")

AUDIT_SCHEMA = "epochplan.audit/1"
PLAN_SCHEMA = "epochplan.plan/1"
CHECK_SCHEMA = "epochplan.check/1"


#: The largest whole number a setting takes: what the core's 64-bit counters hold.
MAX_WHOLE = 2**63 - 1


def check_memory_budget(size: float) -> int:
    """A memory budget in bytes the core accepts: at least its minimum, finite, 64-bit."""
    minimum = MIN_MEMORY_BUDGET
    if size != size:
        raise ValueError("is not a number; give a size, e.g. 512MB or 2GiB")
    if size > MAX_WHOLE:
        raise ValueError(f"is too large; give at most {MAX_WHOLE >> 60} EiB, e.g. 512MB or 2GiB")
    if size < minimum:
        raise ValueError(f"must be at least {minimum >> 20} MiB ({minimum:,} bytes), e.g. {minimum >> 20}MiB or 64MB")
    return int(size)


def default_memory_budget() -> int:
    """The core's rule (a quarter of physical memory, 64 MiB to 1 GiB) for this machine."""
    try:
        total: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = None
    return memory_budget_for(total)
