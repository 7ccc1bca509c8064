"""`--baseline`: compare each check with an earlier report, so that only checks that got worse
fail the gate."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from .._epochplan import __version__
from ..defaults import CHECK_SCHEMA
from ..errors import InputError, secrets_masked
from .rules import Check


def _measure(check: Mapping[str, Any]) -> Fraction | None:
    """The quantity whose increase means "worse": a share of rows for fraction budgets, a count
    for row budgets, minus the count for minimums."""
    count, total = check.get("count"), check.get("total")
    if check.get("status") == "skipped" or not isinstance(count, int):
        return None
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
        raise InputError(f"baseline check {check.get('id')!r}: total {total!r} is not a whole number; the file is damaged, re-create it")
    if check.get("comparison") == ">=":
        return Fraction(-count)
    if str(check.get("setting", "")).endswith(("-fraction", "-share", "-ratio")):
        return Fraction(count, total) if total else Fraction(0)
    return Fraction(count)


class Baseline(dict):
    """The checks of an earlier report by id, and `source`: what it was made from (None when
    the report predates the record)."""

    source: Mapping[str, Any] | None = None


#: Counts of a cluster-stats block. They, and every list or table in it (top clusters,
#: histograms), are results; every other (scalar) key of the `near` block is a setting: threshold,
#: n-gram, shingle, slots, bands ... and whatever setting is added later. A result added to the
#: block must be listed here (`test_baseline_near_settings_are_the_documented_ones` fails until it is).
_NEAR_RESULTS = frozenset(
    {"unique", "duplicate_rows", "duplicate_fraction", "clusters", "largest_cluster", "unique_tokens", "leaked_unique"}
)
#: Keys of the audit's `source` that say which data it was (compared on their own); the others
#: are settings (normalize, tokenizer ...).
_IDENTITY = frozenset({"paths", "text_columns", "label_column"})


def _setting(value: Any) -> Any:
    """A file the audit used (the tokenizer) counts by its content, not by where it lies."""
    return value.get("sha256") if isinstance(value, Mapping) and "sha256" in value else value


def _is_setting(key: str, value: Any) -> bool:
    return key not in _NEAR_RESULTS and not isinstance(value, (list, dict))


#: The parts of a source record that must agree for two reports to be comparable. The row count
#: and the version are recorded, not compared: data grows, and a baseline is for that.
_COMPARED = ("paths", "text_columns", "label_column", "settings")
#: Settings recorded but not compared: no check counts tokens, so another tokenizer (or none, or
#: the same one saved again) changes no check's count.
#: `token_count_column` (a column of token counts the input has, named beside the bytes/4
#: estimate) is no setting either: it comes and goes with --tokenizer, and older reports lack it.
_NOT_JUDGED = frozenset({"tokenizer", "token_count_column"})


def provenance(audit: Mapping[str, Any]) -> dict[str, Any]:
    """What a report was made from: input paths, text and label columns, rows, the epochplan
    version, and every setting that changes the counts (normalisation and the near settings)."""
    source = audit.get("source") or {}
    near = audit.get("near")
    settings = {key: _setting(value) for key, value in sorted(source.items()) if key not in _IDENTITY}
    settings["near"] = None if not isinstance(near, Mapping) else {k: v for k, v in sorted(near.items()) if _is_setting(k, v)}
    return {
        "paths": list(source.get("paths") or []),
        "text_columns": list(source.get("text_columns") or []),
        "label_column": source.get("label_column"),
        "rows": audit.get("rows"),
        "epochplan_version": __version__,
        "settings": settings,
    }


def _comparable(key: str, value: Any) -> Any:
    if key == "paths" and isinstance(value, list):
        return [os.path.normpath(str(p)) for p in value]
    return value


def _agree(key: str, before: Any, now: Any) -> bool:
    if key == "paths" and isinstance(before, list) and isinstance(now, list):
        if not before or not now:
            # No paths: in-memory data (the Python API). Only another in-memory run may match it;
            # an empty set is a subset of every set, so the rule below would take any data.
            return not before and not now
        # Shards added to (or dropped from) a folder or glob are the same dataset, grown.
        return set(before) <= set(now) or set(now) <= set(before)
    return before == now


def _setting_differences(then: Mapping[str, Any], here: Mapping[str, Any]) -> list[str]:
    found = []
    for name in sorted(set(then) | set(here)):
        a, b = then.get(name), here.get(name)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            found += [f"{name}.{d}" for d in _setting_differences(a, b)]
        elif a != b:
            found.append(f"{name} {a!r} there, {b!r} here")
    return found


def check_baseline_source(baseline: Baseline, audit: Mapping[str, Any], *, path: str, allow_mismatch: bool = False) -> str | None:
    """Refuse a baseline made from other data or settings (it would hide a regression) unless
    `allow_mismatch`; return a warning to show (no record, or a mismatch allowed), else None."""
    before = baseline.source
    if not isinstance(before, Mapping):
        return f"--baseline {path} does not say what it was made from (an older report); cannot confirm it is of the same data"
    now = provenance(audit)
    differences = []
    for key in _COMPARED:
        then, here = _comparable(key, before.get(key)), _comparable(key, now[key])
        if key == "settings" and isinstance(then, Mapping):  # name only the settings that differ
            judged = {name: value for name, value in then.items() if name not in _NOT_JUDGED}
            differences += _setting_differences(judged, {name: value for name, value in here.items() if name not in _NOT_JUDGED})
        elif not _agree(key, then, here):
            differences.append(f"{key} {then!r} there, {here!r} here")
    if not differences:
        return None
    what = "; ".join(differences)
    if allow_mismatch:
        return f"--baseline {path} was made from other data or settings ({what}); compared anyway (--allow-baseline-mismatch)"
    raise InputError(
        f"--baseline {path}: made from other data or settings ({what}); give a baseline of this data, or pass --allow-baseline-mismatch"
    )


def load_baseline(path: str | Path) -> Baseline:
    """Checks of an earlier `--json` report, by id, with its source record. Errors are input
    errors (exit 2)."""
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
    out = Baseline()
    # An older version wrote URLs' secrets into `source.paths`: masked, as they are written now
    # (and so compared, and shown in a mismatch, as the audit's own paths).
    out.source = secrets_masked(document["source"]) if isinstance(document.get("source"), Mapping) else None
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
