"""The audit as a CI gate: the registry of thresholds, the checks, the baseline comparison and
the verdict.

The names below are loaded on first use (PEP 562): running a check imports the auditing modules
(polars, numpy, pyarrow), and `checking.registry` (what the configuration reads) must not load them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .baseline import Baseline, check_baseline_source, compare_baseline, load_baseline, provenance
    from .registry import CHECK_KEYS, FAIL_ON, THRESHOLD_KEYS, Thresholds
    from .rules import RULES, Check, exact_fraction, row_limit, run_checks
    from .run import audit_for_check, check
    from .verdict import STATUSES, CheckReport, evaluate, judge

_EXPORTS = {
    "Baseline": ".baseline",
    "check_baseline_source": ".baseline",
    "compare_baseline": ".baseline",
    "load_baseline": ".baseline",
    "provenance": ".baseline",
    "CHECK_KEYS": ".registry",
    "FAIL_ON": ".registry",
    "THRESHOLD_KEYS": ".registry",
    "Thresholds": ".registry",
    "RULES": ".rules",
    "Check": ".rules",
    "exact_fraction": ".rules",
    "row_limit": ".rules",
    "run_checks": ".rules",
    "audit_for_check": ".run",
    "check": ".run",
    "STATUSES": ".verdict",
    "CheckReport": ".verdict",
    "evaluate": ".verdict",
    "judge": ".verdict",
}

__all__ = [
    "Baseline",
    "CHECK_KEYS",
    "FAIL_ON",
    "RULES",
    "STATUSES",
    "THRESHOLD_KEYS",
    "Check",
    "CheckReport",
    "Thresholds",
    "audit_for_check",
    "check",
    "check_baseline_source",
    "compare_baseline",
    "evaluate",
    "exact_fraction",
    "judge",
    "load_baseline",
    "provenance",
    "row_limit",
    "run_checks",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
