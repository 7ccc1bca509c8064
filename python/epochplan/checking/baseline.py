"""`--baseline`: compare each check with an earlier report, so that only checks that got worse
fail the gate."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..defaults import CHECK_SCHEMA
from ..errors import InputError
from .rules import Check


def _measure(check: Mapping[str, Any]) -> Fraction | None:
    """The quantity whose increase means "worse": a share of rows for fraction budgets, a count
    for row budgets, minus the count for minimums."""
    count, total = check.get("count"), check.get("total")
    if check.get("status") == "skipped" or not isinstance(count, int):
        return None
    if check.get("comparison") == ">=":
        return Fraction(-count)
    if str(check.get("setting", "")).endswith(("-fraction", "-ratio")):
        return Fraction(count, total) if total else Fraction(0)
    return Fraction(count)


def load_baseline(path: str | Path) -> dict[str, dict[str, Any]]:
    """Checks of an earlier `--json` report, by id. Errors are input errors (exit 2)."""
    p = Path(path)
    try:
        document = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--baseline {p}: file not found; give a check.json written by `epochplan check --json`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--baseline {p}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"--baseline {p}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != CHECK_SCHEMA or not isinstance(document.get("checks"), list):
        raise InputError(f"--baseline {p}: not an {CHECK_SCHEMA} report; give a file written by `epochplan check --json`")
    out = {}
    for c in document["checks"]:
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            raise InputError(f"--baseline {p}: a check without an id; the file is damaged")
        out[c["id"]] = c
    return out


def compare_baseline(checks: Iterable[Check], baseline: Mapping[str, Mapping[str, Any]]) -> None:
    """Record, per check, how it compares with the baseline run (verdict new|worse|same|better)."""
    for check in checks:
        if check.status == "skipped":
            continue
        before = baseline.get(check.id)
        now = _measure(check.to_dict())
        then = _measure(before) if before is not None else None
        if then is None or now is None:
            verdict = "new"
        else:
            verdict = "worse" if now > then else "better" if now < then else "same"
        check.baseline = {
            "verdict": verdict,
            "status": before.get("status") if before else None,
            "count": before.get("count") if before else None,
            "total": before.get("total") if before else None,
        }
