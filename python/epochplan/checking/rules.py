"""The checks: each reads one section of an `epochplan.audit/1` dict and judges it against its
threshold. A check whose section is absent (no near-duplicate audit, no label column, no eval
split) is `skipped` with the reason, never a silent pass; one whose threshold was set but could not
be judged (near duplicates off, an eval split with nothing to compare) `warns` as well. Shares of rows compare whole numbers of
rows, `count <= floor(fraction * rows)` with the fraction taken exactly as written (0.29 is
29/100, not the float just below it), so a budget of exactly 5 % passes at exactly 5 %.

A new check: a threshold key in registry.py and a rule function here, listed in `RULES`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..defaults import AUDIT_SCHEMA
from ..errors import InputError
from .registry import Thresholds


@dataclass
class Check:
    """One judged check. `count` is compared with `limit` (`<=`, or `>=` for minimums);
    `threshold` is the configured value the limit came from (`setting` names its key)."""

    id: str
    title: str
    status: str  # pass | warning | error | skipped
    severity: str  # the status when the threshold is crossed: error | warning
    setting: str
    threshold: float | int | None
    comparison: str = "<="
    count: int | None = None
    total: int | None = None  # what `fraction` is a share of (rows, eval rows, smallest class)
    fraction: float | None = None
    limit: int | None = None
    message: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)
    #: Whether this check fails the gate (its status reaches fail-on and, with a baseline, it got worse).
    fails_gate: bool = False
    #: With --baseline: {"status", "count", "total", "verdict": new|worse|same|better}.
    baseline: dict[str, Any] | None = None
    #: A skipped check whose input was given but held nothing to judge (an empty eval split):
    #: shown as a warning, where a skip for an input not given (no --label) is a quiet line.
    warns: bool = False
    #: A near check skipped because near duplicates were off (`_near_skipped`): quieted, not
    #: warned, where the command itself turned them off (`run_checks(near_off_warns=False)`).
    #: Not in the report: the reason is in `message`, the outcome in `warns`.
    near_off: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "severity": self.severity,
            "setting": self.setting,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "count": self.count,
            "total": self.total,
            "fraction": self.fraction,
            "limit": self.limit,
            "message": self.message,
            "examples": self.examples,
            "fails_gate": self.fails_gate,
            "baseline": self.baseline,
            "warns": self.warns,
        }


def exact_fraction(value: float | int | str) -> Fraction:
    """The fraction as written: Fraction(repr(0.29)) = 29/100, where Fraction(0.29) is a binary
    approximation whose product with 100 floors to 28."""
    return Fraction(value) if isinstance(value, (int, str)) else Fraction(repr(float(value)))


def row_limit(fraction: float | int | str, rows: int) -> int:
    """Most rows allowed by a share of `rows`: floor(fraction * rows), computed exactly."""
    return math.floor(exact_fraction(fraction) * rows)


def counted(count: int, what: str) -> str:
    """`count` and what it counts, in the singular for one: 1 exact duplicate row, 2 exact
    duplicate rows. `what` is the plural; its first "rows" or "clusters" is the noun."""
    return f"{count:,} " + (re.sub(r"\b(row|cluster)s\b", r"\1", what, count=1) if count == 1 else what)


def _share(count: int, total: int | None) -> float | None:
    return count / total if total else None


def _pct(count: int, total: int | None) -> str:
    return f"{100 * count / total:.2f} %" if total else "-"


def _skipped(id: str, title: str, setting: str, threshold: Any, reason: str, severity: str = "error", comparison: str = "<=") -> Check:
    return Check(id, title, "skipped", severity, setting, threshold, comparison, message=f"skipped: {reason}")


def _at_most(
    id: str,
    title: str,
    setting: str,
    threshold: Any,
    count: int,
    total: int | None,
    limit: int,
    what: str,
    severity: str = "error",
    examples: list[dict[str, Any]] | None = None,
) -> Check:
    ok = count <= limit
    share = f" ({_pct(count, total)} of {total:,})" if total else ""
    verdict = "within" if ok else "over"
    message = f"{counted(count, what)}{share}; {verdict} the limit of {limit:,}"
    return Check(
        id,
        title,
        "pass" if ok else severity,
        severity,
        setting,
        threshold,
        "<=",
        count,
        total,
        _share(count, total),
        limit,
        message,
        list(examples or []),
    )


def _int(section: Mapping[str, Any], key: str) -> int:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"audit: {key!r} is {value!r}, expected a whole number; is this an epochplan.audit/1 document?")
    return value


def _empty_check(audit: Mapping[str, Any], rows: int, t: Any) -> Check:
    nulls, empties = _int(audit, "null_rows"), _int(audit, "empty_rows")
    check = _at_most(
        "empty-rows",
        "null or empty texts",
        "max-empty-fraction",
        t.max_empty_fraction,
        nulls + empties,
        rows,
        row_limit(t.max_empty_fraction, rows),
        "null or empty rows",
    )
    check.message += f" ({nulls:,} null, {empties:,} empty)"
    return check


#: Why the near checks could not be judged, when the caller does not say which setting turned near
#: duplicates off (`run_checks(near_off=...)`; an audit JSON made with --no-near).
NEAR_OFF = "near duplicates were off (--no-near, near = false in the configuration, or EPOCHPLAN_NEAR=false)"


def near_off_reason(near_off: str | None) -> str:
    """Why the near checks are skipped: `near_off` names where near duplicates were turned off."""
    return f"near duplicates were off ({near_off})" if near_off else NEAR_OFF


def _near_skipped(check: Check) -> Check:
    """A near check that near duplicates being off left unjudged: its limit is configured (every
    near limit has a default), so the skip is shown as a warning, which `--fail-on warning` fails
    (unless the command itself turned them off: `run_checks(near_off_warns=False)`)."""
    check.warns = check.near_off = True
    return check


def _duplicate_check(section: Mapping[str, Any] | None, level: str, rows: int, fraction: float, near_off: str = NEAR_OFF) -> Check:
    id, setting = f"{level}-duplicates", f"max-{level}-duplicate-fraction"
    title = f"{level} duplicate rows"
    if section is None:
        if level == "near":
            return _near_skipped(_skipped(id, title, setting, fraction, f"{near_off}: the limit {setting} = {fraction:g} was not checked"))
        return _skipped(id, title, setting, fraction, f"the audit has no {level!r} section")
    examples = [{"row": t.get("row"), "count": t.get("count"), "preview": t.get("preview", "")} for t in section.get("top") or []]
    check = _at_most(
        id,
        title,
        setting,
        fraction,
        _int(section, "duplicate_rows"),
        rows,
        row_limit(fraction, rows),
        f"{level} duplicate rows",
        examples=examples,
    )
    check.message += f"; {counted(_int(section, 'clusters'), 'clusters')}, largest {_int(section, 'largest_cluster'):,}"
    return check


def _leakage_checks(leakage: Mapping[str, Any] | None, t: Any, near_off: str = NEAR_OFF) -> list[Check]:
    if not leakage:
        return [
            _skipped(
                "leakage",
                "eval rows found in train",
                "max-leaked-rows",
                t.max_leaked_rows,
                "no eval split given (--eval PATH or NAME=PATH)",
            )
        ]
    checks = []
    for name in sorted(leakage):
        split = leakage[name]
        eval_rows = _int(split, "rows")
        empty = _nothing_to_compare(name, split, eval_rows)
        if empty is not None:  # "0 of 0 rows leaked" would be a pass judged on nothing
            for kind, setting, threshold in (
                ("exact", "max-leaked-rows", t.max_leaked_rows),
                ("near", "max-near-leaked-rows", t.max_near_leaked_rows),
            ):
                check = _skipped(f"leakage-{kind}:{name}", f"eval split {name!r}: {kind} copies in train", setting, threshold, empty)
                check.warns = True
                checks.append(check)
            continue
        examples = _unique_matches(_with_kinds(split.get("examples") or [], _int(split, "exact_in_train")))
        exact_examples = [e for e in examples if e["kind"] == "exact"]
        checks.append(
            _at_most(
                f"leakage-exact:{name}",
                f"eval split {name!r}: exact copies in train",
                "max-leaked-rows",
                t.max_leaked_rows,
                _int(split, "exact_in_train"),
                eval_rows,
                t.max_leaked_rows,
                f"rows of eval split {name!r} with an exact copy in train",
                examples=exact_examples,
            )
        )
        if split.get("near_in_train") is None:  # an audit with near duplicates off (--no-near)
            reason = f"{near_off}; the exact copies are judged above"
            checks.append(
                _near_skipped(
                    _skipped(
                        f"leakage-near:{name}",
                        f"eval split {name!r}: near copies in train",
                        "max-near-leaked-rows",
                        t.max_near_leaked_rows,
                        reason,
                    )
                )
            )
            continue
        checks.append(
            _at_most(
                f"leakage-near:{name}",
                f"eval split {name!r}: near copies in train",
                "max-near-leaked-rows",
                t.max_near_leaked_rows,
                _int(split, "near_in_train"),
                eval_rows,
                t.max_near_leaked_rows,
                f"rows of eval split {name!r} with a near or exact copy in train",
                examples=examples,
            )
        )
    return checks


def _nothing_to_compare(name: str, split: Mapping[str, Any], eval_rows: int) -> str | None:
    """Why an eval split has no text to look for in train (no rows; every text null), or None.
    An audit JSON written before `null_rows` was (or edited without it) cannot tell an all-null
    split from a clean one: its rows count as compared."""
    if eval_rows == 0:
        return f"eval split {name!r} has no rows: nothing to compare with train; check its path (an empty file?)"
    nulls = split.get("null_rows")
    if isinstance(nulls, int) and not isinstance(nulls, bool) and nulls >= eval_rows:
        return f"eval split {name!r} has {eval_rows:,} rows, every text null: nothing to compare with train; check its text column (--eval-text)"
    return None


def _with_kinds(examples: Iterable[Mapping[str, Any]], exact_rows: int) -> list[dict[str, Any]]:
    """Each leakage example with its `kind`, exact or near: as the audit writes it, else (an audit
    JSON from before `kind` was written) by position — similarity 1.0 does not tell (two texts
    with the same word 5-gram set, one repeating the other, are a near match of similarity 1),
    but examples are listed exact first and an eval row has at most one exact match (its train
    cluster's representative), so the first `exact_in_train` examples are the exact ones."""
    out = []
    for i, example in enumerate(examples):
        kind = example.get("kind")
        out.append({**example, "kind": kind if kind in ("exact", "near") else "exact" if i < exact_rows else "near"})
    return out


def _unique_matches(examples: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Leakage examples without repeats of one (eval row, train row) pair (a match can be found
    both exactly and near)."""
    seen, out = set(), []
    for e in examples:
        pair = (e.get("eval_row"), e.get("train_row"))
        if pair not in seen:
            seen.add(pair)
            out.append(dict(e))
    return out


def _conflict_check(audit: Mapping[str, Any], rows: int, t: Any) -> Check:
    id, title, setting = "conflicting-labels", "duplicates with conflicting labels", "max-conflicting-label-rows"
    threshold = t.max_conflicting_label_rows
    if audit.get("labels") is None:
        return _skipped(id, title, setting, threshold, "no label column (--label COL or label = in the configuration)")
    conflicts = audit.get("conflicts")
    if conflicts is None:
        return _skipped(id, title, setting, threshold, "the audit has no conflicts section (needs the near-duplicate audit)")
    examples = [{"rows": list(e.get("rows", [])), "labels": list(e.get("labels", []))} for e in conflicts.get("examples") or []]
    check = _at_most(
        id,
        title,
        setting,
        threshold,
        _int(conflicts, "rows"),
        rows,
        threshold,
        "rows in duplicate clusters with conflicting labels",
        examples=examples,
    )
    if conflicts.get("near_clusters") is None:  # --no-near: the exact clusters alone were compared
        exact = _int(conflicts, "exact_clusters")
        check.message += f" ({exact:,} exact cluster{'' if exact == 1 else 's'}; near duplicates not audited)"
    else:
        check.message += f" ({_int(conflicts, 'exact_clusters'):,} exact, {_int(conflicts, 'near_clusters'):,} near clusters)"
    return check


def _unique_check(audit: Mapping[str, Any], t: Any, near_off: str = NEAR_OFF) -> Check:
    id, title, setting, minimum = "min-unique-samples", "unique samples after near-dedup", "min-unique-samples", t.min_unique_samples
    near, exact = audit.get("near"), audit.get("exact") or {}
    level, unique = ("near", _int(near, "unique")) if near is not None else ("exact", _int(exact, "unique"))
    if near is None and unique >= minimum > 0:
        # The exact count is an upper bound of the near one: it can prove a shortfall, not enough.
        return _near_skipped(
            _skipped(
                id,
                title,
                setting,
                minimum,
                f"{near_off}: {unique:,} exact-unique samples is only an upper bound of the unique samples after near-dedup",
                comparison=">=",
            )
        )
    ok = unique >= minimum
    message = f"{unique:,} unique samples ({level} level); {'meets' if ok else 'below'} the minimum of {minimum:,}"
    return Check(id, title, "pass" if ok else "error", "error", setting, minimum, ">=", unique, None, None, minimum, message)


def _imbalance_check(labels: Mapping[str, Any] | None, t: Any) -> Check:
    id, title, setting, ratio = "label-imbalance", "largest / smallest label class", "max-imbalance-ratio", t.max_imbalance_ratio
    if labels is None:
        return _skipped(id, title, setting, ratio, "no label column (--label COL or label = in the configuration)", "warning")
    counts = {str(k): int(v) for k, v in (labels.get("counts") or {}).items() if int(v) > 0}
    if len(counts) < 2:
        return _skipped(id, title, setting, ratio, f"{len(counts)} label class(es); imbalance needs two or more", "warning")
    (big_name, largest), (small_name, smallest) = _extremes(counts)
    limit = row_limit(ratio, smallest)  # largest <= ratio * smallest, in whole rows
    check = _at_most(
        id,
        title,
        setting,
        ratio,
        largest,
        smallest,
        limit,
        f"rows in the largest class {big_name!r}",
        severity="warning",
        examples=[{"label": big_name, "count": largest}, {"label": small_name, "count": smallest}],
    )
    check.message = (
        f"largest class {big_name!r} has {counted(largest, 'rows')}, smallest {small_name!r} {smallest:,}: "
        f"ratio {largest / smallest:.2f}; {'within' if largest <= limit else 'over'} {ratio:g}"
    )
    return check


def _template_check(audit: Mapping[str, Any], t: Any) -> Check:
    id, title, setting, share = "template", "one template shared by most rows", "max-template-share", t.max_template_share
    severity = t.template_severity
    if "template" not in audit:
        return _skipped(
            id, title, setting, share, "the audit has no 'template' section (made before epochplan measured templates)", severity
        )
    signal = audit["template"]
    if signal is None:
        # The core measured long openings and endings and (near on) near clusters; none was shared.
        if audit.get("near") is None:
            reason = "no row shares a long opening or ending, and near duplicates were off (the near-cluster signal needs them)"
            return _skipped(id, title, setting, share, reason, severity)
        null = audit.get("null_rows")
        rows = _int(audit, "rows") - (null if isinstance(null, int) and not isinstance(null, bool) else 0)
        check = _at_most(id, title, setting, share, 0, rows, row_limit(share, rows), "rows sharing a template", severity)
        check.message = f"no shared long opening, ending or near cluster; {check.message}"
        return check
    rows = _int(signal, "rows")
    examples = [{"source": signal.get("source"), "row": signal.get("row"), "text": signal.get("text", "")}]
    where = "in the largest near cluster" if signal.get("source") == "near-cluster" else f"sharing one {signal.get('source')}"
    count = _int(signal, "count")
    check = _at_most(id, title, setting, share, count, rows, row_limit(share, rows), f"rows {where}", severity, examples)
    if check.status == "pass":
        return check
    merged = _template_merged(audit, signal, count)
    if merged is False:  # a footer under pages that differ: no near duplicates made of it (the audit warns neither)
        check.status = "pass"
        check.message += (
            "; passes: the near-duplicate audit did not merge these rows (a shared opening or ending under texts that differ), "
            "so the counts do not reflect it"
        )
    elif merged is None:
        check.message += "; near-duplicate counts would reflect the template: audit a column that varies (--text)"
    else:
        check.message += "; near-duplicate counts reflect the template: audit a column that varies (--text)"
    return check


def _template_merged(audit: Mapping[str, Any], signal: Mapping[str, Any], count: int) -> bool | None:
    """Whether the near audit merged the rows sharing the template (a near cluster always is, and
    so are copies of one text: the largest exact cluster holding as many rows, as the audit's
    warning says); None when near duplicates were off or the audit lacks the counts."""
    from ..auditing.templates import template_merged

    near, exact = audit.get("near"), audit.get("exact")
    if signal.get("source") == "near-cluster":
        return True
    if not isinstance(near, Mapping) or not isinstance(exact, Mapping):
        return None
    top = exact.get("top")
    sizes = [t.get("count") for t in top if isinstance(t, Mapping)] if isinstance(top, list) else []
    if any(isinstance(size, int) and size >= count for size in sizes):
        return True
    near_rows, exact_rows = near.get("duplicate_rows"), exact.get("duplicate_rows")
    if not isinstance(near_rows, int) or not isinstance(exact_rows, int) or isinstance(near_rows, bool) or isinstance(exact_rows, bool):
        return None
    return template_merged(count, near_rows, exact_rows)


def _extremes(counts: Mapping[str, int]) -> tuple[tuple[str, int], tuple[str, int]]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ordered[0], ordered[-1]


def _exact_duplicates(audit: Mapping[str, Any], rows: int, t: Any, near_off: str) -> list[Check]:
    return [_duplicate_check(audit.get("exact"), "exact", rows, t.max_exact_duplicate_fraction)]


def _near_duplicates(audit: Mapping[str, Any], rows: int, t: Any, near_off: str) -> list[Check]:
    return [_duplicate_check(audit.get("near"), "near", rows, t.max_near_duplicate_fraction, near_off)]


#: Every check, in report order: (audit dict, rows, thresholds, why near is off) -> the checks it judges.
RULES: tuple[Callable[[Mapping[str, Any], int, Any, str], list[Check]], ...] = (
    lambda audit, rows, t, off: [_empty_check(audit, rows, t)],
    _exact_duplicates,
    _near_duplicates,
    lambda audit, rows, t, off: _leakage_checks(audit.get("leakage"), t, off),
    lambda audit, rows, t, off: [_conflict_check(audit, rows, t)],
    lambda audit, rows, t, off: [_unique_check(audit, t, off)],
    lambda audit, rows, t, off: [_imbalance_check(audit.get("labels"), t)],
    lambda audit, rows, t, off: [_template_check(audit, t)],
)


def run_checks(
    audit: Mapping[str, Any], thresholds: Any = None, *, near_off: str | None = None, near_off_warns: bool = True
) -> list[Check]:
    """Judge an `epochplan.audit/1` dict; one Check per rule (per eval split for leakage).
    `near_off` names where near duplicates were turned off (`EPOCHPLAN_NEAR=false in the
    environment`), for the skipped near checks to say; without it they list the ways.
    `near_off_warns=False`: the command itself turned them off (`--no-near`, `near=False`), a
    choice made where the user reads it, so those skips stay quiet (no warning to fail on)."""
    t = thresholds or Thresholds()
    if audit.get("schema") != AUDIT_SCHEMA:
        raise InputError(f"audit schema {audit.get('schema')!r}: expected {AUDIT_SCHEMA!r}")
    rows = _int(audit, "rows")
    off = near_off_reason(near_off)
    checks = [check for rule in RULES for check in rule(audit, rows, t, off)]
    if not near_off_warns:
        for check in checks:
            if check.near_off:
                check.warns = False
    return checks
