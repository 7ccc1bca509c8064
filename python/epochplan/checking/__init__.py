"""The audit as a CI gate: the registry of thresholds, the checks, the baseline comparison and
the verdict."""

from .baseline import Baseline, check_baseline_source, compare_baseline, load_baseline, provenance
from .registry import CHECK_KEYS, FAIL_ON, THRESHOLD_KEYS, Thresholds
from .rules import RULES, Check, exact_fraction, row_limit, run_checks
from .run import audit_for_check, check
from .verdict import STATUSES, CheckReport, evaluate, judge

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
