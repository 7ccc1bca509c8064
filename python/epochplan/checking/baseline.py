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
from ..json_text import NotAsWritten, parse
from ..sources import is_remote
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
    """What a report was made from: input paths, text and label columns, each eval split's path
    and text columns, rows, the epochplan version, every setting that changes the counts
    (normalisation and the near settings), and the folder it was run in (`cwd`: where its
    relative paths lie)."""
    source = audit.get("source") or {}
    near = audit.get("near")
    settings = {key: _setting(value) for key, value in sorted(source.items()) if key not in _IDENTITY}
    settings["near"] = None if not isinstance(near, Mapping) else {k: v for k, v in sorted(near.items()) if _is_setting(k, v)}
    return {
        "paths": list(source.get("paths") or []),
        "text_columns": list(source.get("text_columns") or []),
        "label_column": source.get("label_column"),
        "eval": eval_record(audit),
        "rows": audit.get("rows"),
        "epochplan_version": __version__,
        "settings": settings,
        "cwd": os.getcwd(),
    }


def eval_record(audit: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{split: {path, text_columns}} of the audit's eval splits (`text_columns` left out where
    the audit, an older one, does not record them)."""
    leakage = audit.get("leakage")
    out: dict[str, dict[str, Any]] = {}
    for name, split in leakage.items() if isinstance(leakage, Mapping) else ():
        if isinstance(split, Mapping):
            out[str(name)] = {key: split[key] for key in ("path", "text_columns") if key in split}
    return out


def _where(path: str, cwd: str) -> str | None:
    """A local path's absolute form, read from `cwd`; None for a URL."""
    if is_remote(path):
        return None
    return os.path.realpath(os.path.join(cwd, path))


class _Paths:
    """Paths as one report records them, matched with another's: the same as written (after
    `normpath`), or the same local file reached from the folder each report was made in
    (`train.parquet` in /repo is `/repo/train.parquet` and, from /repo/sub, `../train.parquet`).
    A baseline that does not record its folder is read from this one."""

    def __init__(self, paths: Iterable[Any], cwd: str) -> None:
        self.cwd = cwd
        self.written = {os.path.normpath(str(p)) for p in paths}
        self.where = {w for p in self.written if (w := _where(p, cwd)) is not None}

    def holds(self, path: str, cwd: str) -> bool:
        """Whether `path`, written in `cwd`, is one of these."""
        return os.path.normpath(path) in self.written or _where(path, cwd) in self.where

    def within(self, other: _Paths) -> bool:
        return all(other.holds(p, self.cwd) for p in self.written)


def _cwd(record: Mapping[str, Any]) -> str:
    cwd = record.get("cwd")
    return cwd if isinstance(cwd, str) else os.getcwd()


def _paths_agree(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    then_paths, here_paths = before.get("paths"), now.get("paths")
    if not isinstance(then_paths, list) or not isinstance(here_paths, list):
        return then_paths == here_paths
    if not then_paths or not here_paths:
        # No paths: in-memory data (the Python API). Only another in-memory run may match it;
        # an empty set is a subset of every set, so the rule below would take any data.
        return not then_paths and not here_paths
    then, here = _Paths(then_paths, _cwd(before)), _Paths(here_paths, _cwd(now))
    # Shards added to (or dropped from) a folder or glob are the same dataset, grown.
    return then.within(here) or here.within(then)


def _eval_differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The eval splits of both reports (by name) whose file or text columns differ. A split in
    one report only is no difference: its leakage checks are new (judged on their own) or gone."""
    then_splits, here_splits = before.get("eval"), now.get("eval") or {}
    if not isinstance(then_splits, Mapping):
        return []
    found = []
    for name in sorted(set(then_splits) & set(here_splits)):
        then, here = then_splits[name], here_splits[name]
        if not isinstance(then, Mapping):
            continue
        a, b = then.get("path"), here.get("path")
        same = a == b if a is None or b is None else _Paths([a], _cwd(before)).holds(str(b), _cwd(now))
        if not same:
            found.append(f"eval split {name!r}: path {a!r} there, {b!r} here")
        # An older report does not record the split's text columns: not compared.
        columns = then.get("text_columns")
        if columns is not None and here.get("text_columns") is not None and list(columns) != list(here["text_columns"]):
            found.append(f"eval split {name!r}: text columns {columns!r} there, {here['text_columns']!r} here")
    return found


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
        then, here = before.get(key), now[key]
        if key == "settings" and isinstance(then, Mapping):  # name only the settings that differ
            judged = {name: value for name, value in then.items() if name not in _NOT_JUDGED}
            differences += _setting_differences(judged, {name: value for name, value in here.items() if name not in _NOT_JUDGED})
        elif not (_paths_agree(before, now) if key == "paths" else then == here):
            differences.append(f"{key} {then!r} there, {here!r} here")
    differences += _eval_differences(before, now)
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
        document = parse(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--baseline {p}: file not found; give a check.json written by `epochplan check --json`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--baseline {p}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"--baseline {p}: not JSON ({exc})") from None
    except NotAsWritten as exc:
        raise InputError(
            f"--baseline {p}: not a report as epochplan writes it: it {exc}; give a file written by `epochplan check --json`"
        ) from None
    if not isinstance(document, dict) or document.get("schema") != CHECK_SCHEMA or not isinstance(document.get("checks"), list):
        raise InputError(f"--baseline {p}: not an {CHECK_SCHEMA} report; give a file written by `epochplan check --json`")
    out = Baseline()
    # An older version wrote URLs' secrets into `source.paths`: masked, as they are written now
    # (and so compared, and shown in a mismatch, as the audit's own paths).
    out.source = secrets_masked(document["source"]) if isinstance(document.get("source"), Mapping) else None
    if out.source is not None and "eval" not in out.source and isinstance(document.get("audit"), Mapping):
        # A report older than the record of eval splits: their paths are in its audit.
        out.source = {**out.source, "eval": secrets_masked(eval_record(document["audit"]))}
    for c in document["checks"]:
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            raise InputError(f"--baseline {p}: a check without an id; the file is damaged")
        out[c["id"]] = c
    return out


def compare_baseline(checks: Iterable[Check], baseline: Mapping[str, Mapping[str, Any]]) -> None:
    """Record, per check, how it compares with the baseline run (verdict new|worse|same|better).
    A quiet skip gets none (it never fails the gate). A skip shown as a warning (`warns`: near
    duplicates off by a file or EPOCHPLAN_NEAR, an eval split of null texts) is `same` where the
    baseline skipped it too (shown as a warning, or by a report older than `warns`), else `new`."""
    for check in checks:
        if check.status == "skipped" and not check.warns:
            continue
        before = baseline.get(check.id)
        now = _measure(check.to_dict())
        then = _measure(before) if before is not None else None
        if check.status == "skipped":
            skipped_then = before is not None and before.get("status") == "skipped" and before.get("warns") is not False
            verdict = "same" if skipped_then else "new"
        elif then is None or now is None:
            verdict = "new"
        else:
            verdict = "worse" if now > then else "better" if now < then else "same"
        check.baseline = {
            "verdict": verdict,
            "status": before.get("status") if before else None,
            "count": before.get("count") if before else None,
            "total": before.get("total") if before else None,
        }
