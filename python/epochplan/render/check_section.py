"""The checks section of the HTML report: the gate's verdict and one row per check.

Every check is listed: a check report has one per rule and two per eval split, a few hundred
bytes each. Only a report of thousands of checks (thousands of eval splits, or names made to
swell when escaped) meets the page's 1 MB budget; then the checks that fail the gate are listed
first, then errors, warnings, skipped ones and passes, and a note counts by status what is left
out, so a failing check is never hidden without a word.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .blocks import Caps, code, num, section, table
from .text import message, plain

# Which checks a page that cannot list them all keeps first: those that fail the gate, then by status.
_RANK = {"error": 1, "warning": 2, "skipped": 3, "pass": 4}


def _rank(result: Mapping[str, Any]) -> int:
    if result.get("fails_gate") is True:
        return 0
    return _RANK["warning"] if result.get("warns") is True else _RANK.get(str(result.get("status")), 5)


def shown_checks(results: Sequence[Mapping[str, Any]], cap: int) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(the checks to list, in report order; the ones left out): all of them when `cap` allows."""
    if len(results) <= cap:
        return list(results), []
    order = sorted(range(len(results)), key=lambda i: (_rank(results[i]), i))
    keep = set(order[:cap])
    return [r for i, r in enumerate(results) if i in keep], [r for i, r in enumerate(results) if i not in keep]


def left_out_note(left_out: Sequence[Mapping[str, Any]], where: str) -> str:
    """'N more checks not shown (a fail the gate, b pass …)' or nothing."""
    if not left_out:
        return ""
    tally: dict[str, int] = {}
    for result in left_out:
        state = "fail the gate" if result.get("fails_gate") is True else plain(result.get("status", "?"), 20)
        tally[state] = tally.get(state, 0) + 1
    parts = ", ".join(f"{count:,} {state}" for state, count in sorted(tally.items(), key=lambda kv: (kv[0] != "fail the gate", kv[0])))
    return f'<p class="note">{len(left_out):,} more checks not shown ({parts}): {where}.</p>'


def _not_worse(result: Mapping[str, Any]) -> bool:
    """An error or warning that does not fail the gate because it is not worse than the baseline
    (as the terminal, JUnit and Markdown reports say)."""
    return (
        result.get("status") in ("error", "warning") and result.get("fails_gate") is False and isinstance(result.get("baseline"), Mapping)
    )


def _baseline_note(summary_block: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> str:
    """What the gate was compared with: a check over its budget passes when not worse than it."""
    baseline = summary_block.get("baseline")
    if baseline is None:
        return ""
    kept = sum(_not_worse(r) for r in results)
    over = f": {kept:,} check{'s' if kept != 1 else ''} over {'their' if kept != 1 else 'its'} budget, not worse than it" if kept else ""
    return f'<p class="note">Compared with the baseline {code(baseline)}; only checks worse than it fail the gate{over}.</p>'


def checks(check: Mapping[str, Any], caps: Caps) -> str:
    summary_block = check.get("summary") or {}
    status = str(summary_block.get("status", "?"))
    results = [r for r in check.get("checks") or [] if isinstance(r, Mapping)]
    body = [
        f'<p class="verdict {html.escape(status if status in ("pass", "fail") else "unknown")}">gate: '
        f"<strong>{plain(status, 20)}</strong> (exit code {num(summary_block.get('exit_code'))}, "
        f"fails on {plain(summary_block.get('fail_on', '?'), 20)})</p>",
        _baseline_note(summary_block, results),
    ]
    listed, left_out = shown_checks(results, caps.checks)
    rows = []
    for result in listed:
        state = plain(result.get("status", "?"), 20)
        shown = f'<span class="status {state}">{state}</span>' + (" (not worse than baseline)" if _not_worse(result) else "")
        rows.append([shown, code(result.get("id")), message(result.get("message", ""), caps.message)])
    body.append(table(["status", "check", "result"], rows))
    body.append(left_out_note(left_out, "every check is in the check JSON, and in the terminal and JUnit reports"))
    return section("checks", "Checks", body)
