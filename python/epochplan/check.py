"""`epochplan check`: judge an audit (`epochplan.audit/1` dict) against thresholds, as a CI gate.

The checks are data-driven: each reads one section of the audit dict, and a check whose section is
absent (no near-duplicate audit, no label column, no eval split) is reported as `skipped` with the
reason, never as a silent pass. Thresholds on shares of rows compare whole numbers of rows,
`count <= floor(fraction * rows)` with the fraction taken exactly as written (0.29 is 29/100, not
the float just below it), so a budget of exactly 5 % passes at exactly 5 %.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

from .cli_options import parse_eval
from .config import Key, Resolved, choice, parse_count, parse_fraction, parse_ratio, register_section, resolve
from .errors import InputError

CHECK_SCHEMA = "epochplan.check/1"
STATUSES = ("pass", "warning", "error", "skipped")
FAIL_ON = ("error", "warning")
_RANK = {"pass": 0, "warning": 1, "error": 2}

#: `[tool.epochplan.check]` keys (also `EPOCHPLAN_<KEY>` and `--<key>` on the command line).
CHECK_KEYS: tuple[Key, ...] = (
    Key("max-empty-fraction", parse_fraction, 0.0, "null + empty texts, share of rows"),
    Key("max-exact-duplicate-fraction", parse_fraction, 0.01, "exact duplicate rows (rows dedup removes), share of rows"),
    Key("max-near-duplicate-fraction", parse_fraction, 0.05, "near duplicate rows (exact included), share of rows"),
    Key("max-leaked-rows", parse_count, 0, "eval rows with an exact copy in train, per eval split"),
    Key("max-near-leaked-rows", parse_count, 0, "eval rows with a near (or exact) copy in train, per eval split"),
    Key("max-conflicting-label-rows", parse_count, 0, "rows in duplicate clusters whose members disagree on the label"),
    Key("min-unique-samples", parse_count, 0, "unique samples after near-dedup, at least"),
    Key("max-imbalance-ratio", parse_ratio, 10.0, "largest / smallest label class (a warning)"),
    Key("fail-on", choice(*FAIL_ON), "error", "lowest status that fails the gate: error or warning"),
)
register_section("check", (k.name for k in CHECK_KEYS))


@dataclass(frozen=True)
class Thresholds:
    max_empty_fraction: float = 0.0
    max_exact_duplicate_fraction: float = 0.01
    max_near_duplicate_fraction: float = 0.05
    max_leaked_rows: int = 0
    max_near_leaked_rows: int = 0
    max_conflicting_label_rows: int = 0
    min_unique_samples: int = 0
    max_imbalance_ratio: float = 10.0
    fail_on: str = "error"

    def __post_init__(self) -> None:
        # The same validation as the configuration file, for Python callers.
        for key in CHECK_KEYS:
            value = getattr(self, key.attr)
            try:
                key.parse(value, False)
            except ValueError as exc:
                raise InputError(f"{key.attr}={value!r}: {exc}") from None

    @classmethod
    def from_resolved(cls, resolved: Resolved) -> Thresholds:
        return cls(**{f.name: resolved[f.name] for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {key.name: getattr(self, key.attr) for key in CHECK_KEYS}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "status": self.status, "severity": self.severity,
            "setting": self.setting, "threshold": self.threshold, "comparison": self.comparison,
            "count": self.count, "total": self.total, "fraction": self.fraction, "limit": self.limit,
            "message": self.message, "examples": self.examples, "fails_gate": self.fails_gate,
            "baseline": self.baseline,
        }


def exact_fraction(value: float | int | str) -> Fraction:
    """The fraction as written: Fraction(repr(0.29)) = 29/100, where Fraction(0.29) is a binary
    approximation whose product with 100 floors to 28."""
    return Fraction(value) if isinstance(value, (int, str)) else Fraction(repr(float(value)))


def row_limit(fraction: float | int | str, rows: int) -> int:
    """Most rows allowed by a share of `rows`: floor(fraction * rows), computed exactly."""
    return math.floor(exact_fraction(fraction) * rows)


def _share(count: int, total: int | None) -> float | None:
    return count / total if total else None


def _pct(count: int, total: int | None) -> str:
    return f"{100 * count / total:.2f} %" if total else "-"


def _skipped(id: str, title: str, setting: str, threshold: Any, reason: str, severity: str = "error", comparison: str = "<=") -> Check:
    return Check(id, title, "skipped", severity, setting, threshold, comparison, message=f"skipped: {reason}")


def _at_most(id: str, title: str, setting: str, threshold: Any, count: int, total: int | None, limit: int,
             what: str, severity: str = "error", examples: list[dict[str, Any]] | None = None) -> Check:
    ok = count <= limit
    share = f" ({_pct(count, total)} of {total:,})" if total else ""
    verdict = "within" if ok else "over"
    message = f"{count:,} {what}{share}; {verdict} the limit of {limit:,}"
    return Check(id, title, "pass" if ok else severity, severity, setting, threshold, "<=", count, total,
                 _share(count, total), limit, message, list(examples or []))


def _int(section: Mapping[str, Any], key: str) -> int:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"audit: {key!r} is {value!r}, expected a whole number; is this an epochplan.audit/1 document?")
    return value


def run_checks(audit: Mapping[str, Any], thresholds: Thresholds | None = None) -> list[Check]:
    """Judge an `epochplan.audit/1` dict; one Check per rule (per eval split for leakage)."""
    t = thresholds or Thresholds()
    if audit.get("schema") != "epochplan.audit/1":
        raise InputError(f"audit schema {audit.get('schema')!r}: expected 'epochplan.audit/1'")
    rows = _int(audit, "rows")
    checks = [
        _empty_check(audit, rows, t),
        _duplicate_check(audit.get("exact"), "exact", rows, t.max_exact_duplicate_fraction),
        _duplicate_check(audit.get("near"), "near", rows, t.max_near_duplicate_fraction),
        *_leakage_checks(audit.get("leakage"), t),
        _conflict_check(audit, rows, t),
        _unique_check(audit, t),
        _imbalance_check(audit.get("labels"), t),
    ]
    return checks


def _empty_check(audit: Mapping[str, Any], rows: int, t: Thresholds) -> Check:
    nulls, empties = _int(audit, "null_rows"), _int(audit, "empty_rows")
    check = _at_most("empty-rows", "null or empty texts", "max-empty-fraction", t.max_empty_fraction,
                     nulls + empties, rows, row_limit(t.max_empty_fraction, rows), "null or empty rows")
    check.message += f" ({nulls:,} null, {empties:,} empty)"
    return check


def _duplicate_check(section: Mapping[str, Any] | None, level: str, rows: int, fraction: float) -> Check:
    id, setting = f"{level}-duplicates", f"max-{level}-duplicate-fraction"
    title = f"{level} duplicate rows"
    if section is None:
        return _skipped(id, title, setting, fraction, "the audit has no 'near' section (near duplicates were not computed)")
    examples = [
        {"row": t.get("row"), "count": t.get("count"), "preview": t.get("preview", "")} for t in section.get("top") or []
    ]
    check = _at_most(id, title, setting, fraction, _int(section, "duplicate_rows"), rows, row_limit(fraction, rows),
                     f"{level} duplicate rows", examples=examples)
    check.message += f"; {_int(section, 'clusters'):,} clusters, largest {_int(section, 'largest_cluster'):,}"
    return check


def _leakage_checks(leakage: Mapping[str, Any] | None, t: Thresholds) -> list[Check]:
    if not leakage:
        return [_skipped("leakage", "eval rows found in train", "max-leaked-rows", t.max_leaked_rows,
                         "no eval split given (--eval PATH or NAME=PATH)")]
    checks = []
    for name in sorted(leakage):
        split = leakage[name]
        eval_rows = _int(split, "rows")
        examples = _unique_matches(split.get("examples") or [])
        exact_examples = [e for e in examples if e.get("kind", "exact" if e.get("similarity") == 1.0 else "near") == "exact"]
        checks.append(_at_most(f"leakage-exact:{name}", f"eval split {name!r}: exact copies in train", "max-leaked-rows",
                               t.max_leaked_rows, _int(split, "exact_in_train"), eval_rows, t.max_leaked_rows,
                               f"rows of eval split {name!r} with an exact copy in train", examples=exact_examples))
        checks.append(_at_most(f"leakage-near:{name}", f"eval split {name!r}: near copies in train", "max-near-leaked-rows",
                               t.max_near_leaked_rows, _int(split, "near_in_train"), eval_rows, t.max_near_leaked_rows,
                               f"rows of eval split {name!r} with a near or exact copy in train", examples=examples))
    return checks


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


def _conflict_check(audit: Mapping[str, Any], rows: int, t: Thresholds) -> Check:
    id, title, setting = "conflicting-labels", "duplicates with conflicting labels", "max-conflicting-label-rows"
    threshold = t.max_conflicting_label_rows
    if audit.get("labels") is None:
        return _skipped(id, title, setting, threshold, "no label column (--label COL or label = in the configuration)")
    conflicts = audit.get("conflicts")
    if conflicts is None:
        return _skipped(id, title, setting, threshold, "the audit has no conflicts section (needs the near-duplicate audit)")
    examples = [{"rows": list(e.get("rows", [])), "labels": list(e.get("labels", []))} for e in conflicts.get("examples") or []]
    check = _at_most(id, title, setting, threshold, _int(conflicts, "rows"), rows, threshold,
                     "rows in duplicate clusters with conflicting labels", examples=examples)
    check.message += f" ({_int(conflicts, 'exact_clusters'):,} exact, {_int(conflicts, 'near_clusters'):,} near clusters)"
    return check


def _unique_check(audit: Mapping[str, Any], t: Thresholds) -> Check:
    id, title, setting, minimum = "min-unique-samples", "unique samples after near-dedup", "min-unique-samples", t.min_unique_samples
    near, exact = audit.get("near"), audit.get("exact") or {}
    level, unique = ("near", _int(near, "unique")) if near is not None else ("exact", _int(exact, "unique"))
    if near is None and unique >= minimum > 0:
        # The exact count is an upper bound of the near one: it can prove a shortfall, not enough.
        return _skipped(id, title, setting, minimum, f"the audit has no near-duplicate section; {unique:,} exact-unique samples "
                        "is only an upper bound", comparison=">=")
    ok = unique >= minimum
    message = f"{unique:,} unique samples ({level} level); {'meets' if ok else 'below'} the minimum of {minimum:,}"
    return Check(id, title, "pass" if ok else "error", "error", setting, minimum, ">=", unique, None, None, minimum, message)


def _imbalance_check(labels: Mapping[str, Any] | None, t: Thresholds) -> Check:
    id, title, setting, ratio = "label-imbalance", "largest / smallest label class", "max-imbalance-ratio", t.max_imbalance_ratio
    if labels is None:
        return _skipped(id, title, setting, ratio, "no label column (--label COL or label = in the configuration)", "warning")
    counts = {str(k): int(v) for k, v in (labels.get("counts") or {}).items() if int(v) > 0}
    if len(counts) < 2:
        return _skipped(id, title, setting, ratio, f"{len(counts)} label class(es); imbalance needs two or more", "warning")
    (big_name, largest), (small_name, smallest) = _extremes(counts)
    limit = row_limit(ratio, smallest)  # largest <= ratio * smallest, in whole rows
    check = _at_most(id, title, setting, ratio, largest, smallest, limit, f"rows in the largest class {big_name!r}",
                     severity="warning", examples=[{"label": big_name, "count": largest}, {"label": small_name, "count": smallest}])
    check.message = (f"largest class {big_name!r} has {largest:,} rows, smallest {small_name!r} {smallest:,}: "
                     f"ratio {largest / smallest:.2f}; {'within' if largest <= limit else 'over'} {ratio:g}")
    return check


def _extremes(counts: Mapping[str, int]) -> tuple[tuple[str, int], tuple[str, int]]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ordered[0], ordered[-1]


# --- Baseline and verdict -----------------------------------------------------------------------


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


def judge(checks: Sequence[Check], *, fail_on: str = "error", exit_zero: bool = False, baseline: str | None = None) -> dict[str, Any]:
    """Mark the checks that fail the gate and return the summary (status, exit code)."""
    if fail_on not in FAIL_ON:
        raise InputError(f"fail_on={fail_on!r}: use one of {', '.join(FAIL_ON)}")
    for check in checks:
        reached = check.status != "skipped" and _RANK[check.status] >= _RANK[fail_on]
        regressed = check.baseline is None or check.baseline["verdict"] in ("new", "worse")
        check.fails_gate = reached and regressed
    failed = [c.id for c in checks if c.fails_gate]
    excused = [c.id for c in checks if c.status != "skipped" and _RANK[c.status] >= _RANK[fail_on] and not c.fails_gate]
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
    thresholds: Thresholds
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
            "checks": [c.to_dict() for c in self.checks],
            "summary": dict(self.summary),
            "thresholds": self.thresholds.to_dict(),
            "audit": self.audit,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False) + "\n"


def evaluate(
    audit: Mapping[str, Any],
    thresholds: Thresholds | None = None,
    *,
    baseline: Mapping[str, Mapping[str, Any]] | None = None,
    baseline_path: str | None = None,
    exit_zero: bool = False,
) -> CheckReport:
    """Checks, baseline comparison and verdict for an audit dict."""
    t = thresholds or Thresholds()
    checks = run_checks(audit, t)
    if baseline is not None:
        compare_baseline(checks, baseline)
    summary = judge(checks, fail_on=t.fail_on, exit_zero=exit_zero, baseline=baseline_path)
    return CheckReport(checks, summary, t, dict(audit))


# --- Running the audit for a check --------------------------------------------------------------

#: Shared settings that tune near duplicates, passed to audit() when set.
_NEAR_OPTIONS = ("threshold", "shingle", "ngram", "num_perm")


def audit_for_check(data: Any, settings: Mapping[str, Any], eval_splits: Mapping[str, Any] | None = None, progress: Any = None) -> dict[str, Any]:
    """Run the audit the checks need (near duplicates on, eval splits, label) and return its dict."""
    from .audit import audit as run_audit

    kwargs: dict[str, Any] = {
        "text": settings.get("text"), "label": settings.get("label"),
        "normalize": settings.get("normalize") or "default", "keep_clusters": False, "near": True,
    }
    if progress is not None:
        kwargs["progress"] = progress
    kwargs.update({name: settings[name] for name in _NEAR_OPTIONS if settings.get(name) is not None})
    if eval_splits:
        kwargs["eval"] = dict(eval_splits)
    return run_audit(data, **kwargs).to_dict()


def check(
    data: Any,
    *,
    eval: Mapping[str, Any] | Sequence[str] | None = None,
    text: str | Sequence[str] | None = None,
    label: str | None = None,
    normalize: str = "default",
    thresholds: Thresholds | None = None,
    baseline: str | Path | None = None,
    **near_options: Any,
) -> CheckReport:
    """Python form of `epochplan check`: audit `data` (and eval splits) and judge it.

    `eval` is {name: path} or a list of paths / NAME=PATH strings. Configuration files are not
    read here; pass `thresholds`.
    """
    unknown = set(near_options) - set(_NEAR_OPTIONS)
    if unknown:
        raise InputError(f"check(): unknown option(s) {', '.join(sorted(unknown))}")
    splits = dict(eval) if isinstance(eval, Mapping) else parse_eval(list(eval or []))
    settings = {"text": text, "label": label, "normalize": normalize, **near_options}
    audit_dict = audit_for_check(data, settings, splits)
    base = load_baseline(baseline) if baseline is not None else None
    return evaluate(audit_dict, thresholds, baseline=base, baseline_path=str(baseline) if baseline is not None else None)


def resolve_check_settings(cli: Mapping[str, Any] | None = None, *, path: Path | None = None, start: Path | None = None,
                           environ: Mapping[str, str] | None = None) -> Resolved:
    """Shared and check settings from the command line, environment, file and defaults."""
    return resolve("check", CHECK_KEYS, cli, path=path, start=start, environ=environ)
