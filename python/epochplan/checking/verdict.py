"""The verdict: which checks fail the gate, the exit code, and the report (`epochplan.check/1`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..defaults import CHECK_SCHEMA
from ..errors import InputError
from . import rules
from .baseline import compare_baseline, provenance
from .registry import FAIL_ON, Thresholds
from .rules import Check

STATUSES = ("pass", "warning", "error", "skipped")
_RANK = {"pass": 0, "warning": 1, "error": 2}


def _reaches(check: Check, fail_on: str) -> bool:
    """Whether the check's status reaches `fail_on`. A skip shown as a warning (`warns`: its input
    was given and held nothing, or near duplicates were off) is a warning here too: under
    `--fail-on warning` it fails the gate; a quiet skip (no --label) never does."""
    level = "warning" if check.status == "skipped" and check.warns else check.status
    return level != "skipped" and _RANK[level] >= _RANK[fail_on]


def judge(checks: Sequence[Check], *, fail_on: str = "error", exit_zero: bool = False, baseline: str | None = None) -> dict[str, Any]:
    """Mark the checks that fail the gate and return the summary (status, exit code)."""
    if fail_on not in FAIL_ON:
        raise InputError(f"fail_on={fail_on!r}: use one of {', '.join(FAIL_ON)}")
    for check in checks:
        regressed = check.baseline is None or check.baseline["verdict"] in ("new", "worse")
        check.fails_gate = _reaches(check, fail_on) and regressed
    failed = [c.id for c in checks if c.fails_gate]
    excused = [c.id for c in checks if _reaches(c, fail_on) and not c.fails_gate]
    counts = {status: sum(c.status == status for c in checks) for status in STATUSES}
    status = "fail" if failed else "pass"
    return {
        "status": status,
        "exit_code": 0 if exit_zero or not failed else 1,
        "fail_on": fail_on,
        "exit_zero": exit_zero,
        "counts": counts,
        "failed": failed,
        "not_worse_than_baseline": excused,
        "skipped": [c.id for c in checks if c.status == "skipped"],
        "baseline": baseline,
    }


@dataclass
class CheckReport:
    checks: list[Check]
    summary: dict[str, Any]
    thresholds: Any  # Thresholds
    audit: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return int(self.summary["exit_code"])

    @property
    def passed(self) -> bool:
        return self.summary["status"] == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": CHECK_SCHEMA,
            "source": provenance(self.audit),
            "checks": [c.to_dict() for c in self.checks],
            "summary": dict(self.summary),
            "thresholds": self.thresholds.to_dict(),
            "audit": self.audit,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False) + "\n"


def evaluate(
    audit: Mapping[str, Any],
    thresholds: Any = None,
    *,
    baseline: Mapping[str, Mapping[str, Any]] | None = None,
    baseline_path: str | None = None,
    exit_zero: bool = False,
    near_off: str | None = None,
    near_off_warns: bool = True,
) -> CheckReport:
    """Checks, baseline comparison and verdict for an audit dict. `near_off`: where near
    duplicates were turned off, named by the skipped near checks; `near_off_warns`: whether those
    skips warn (`rules.run_checks`)."""
    t = thresholds or Thresholds()
    checks = rules.run_checks(
        audit, t, near_off=near_off, near_off_warns=near_off_warns
    )  # looked up at call time, so a test can replace it
    if baseline is not None:
        compare_baseline(checks, baseline)
    summary = judge(checks, fail_on=t.fail_on, exit_zero=exit_zero, baseline=baseline_path)
    return CheckReport(checks, summary, t, dict(audit))
