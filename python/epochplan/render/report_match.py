"""Whether the JSON files given to `report` describe one dataset. A plan or a check made from
other data (or a plan from counts given by hand) would otherwise be shown beside the audit as if
they were its own; the report says so on the page and `epochplan report` warns on stderr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import graphemes
from .blocks import get


def mismatches(audit: Mapping[str, Any], plan: Mapping[str, Any] | None, check: Mapping[str, Any] | None) -> list[str]:
    """One sentence for each way `plan` or `check` disagrees with `audit` (none: they agree)."""
    found = []
    level, planned = get(plan, "unique_level"), get(plan, "unique_samples")
    if level == "given":
        given = f"{planned:,} unique samples" if isinstance(planned, int) else f"{get(plan, 'unique_tokens') or 0:,} unique tokens"
        found.append(f"the plan was made from counts given by hand ({given}), not from this audit")
    elif (
        level in ("near", "exact")
        and isinstance(planned, int)
        and isinstance(audited := get(audit, level, "unique"), int)
        and audited != planned
    ):
        found.append(
            f"the plan counts {planned:,} {level}-unique samples where this audit counts {audited:,}: it was made from "
            "other data or settings; make it with `epochplan plan --audit` on this audit's JSON"
        )
    source = get(check, "source")
    if isinstance(source, Mapping):
        paths, rows = source.get("paths"), source.get("rows")
        audited_paths, audited_rows = get(audit, "source", "paths"), audit.get("rows")
        # Paths are compared by file name: one file is `data.parquet` from its folder and
        # `/abs/data.parquet` or `../data.parquet` from another working folder.
        if rows != audited_rows or _names(paths) != _names(audited_paths):
            found.append(
                f"the check was run on other data ({_described(paths, rows)}) than this audit ({_described(audited_paths, audited_rows)}); "
                "pass the audit JSON of the same data"
            )
    splits = _split_mismatch(get(audit, "leakage"), _check_splits(check))
    if splits:
        found.append(f"the check was run with other eval splits than this audit ({splits}); pass the audit JSON made with the same --eval")
    return found


def _check_splits(check: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The eval splits the check judged, name → rows (None: unknown): from the audit inside the
    check report, else from its leakage checks' ids (`leakage-exact:NAME`, rows unknown)."""
    if not isinstance(check, Mapping):
        return None
    inner = get(check, "audit", "leakage")
    if isinstance(get(check, "audit"), Mapping):
        return {str(k): get(v, "rows") for k, v in inner.items()} if isinstance(inner, Mapping) else {}
    ids: list[str] = [r["id"] for r in check.get("checks") or [] if isinstance(r, Mapping) and isinstance(r.get("id"), str)]
    if not ids:
        return None
    return {i.split(":", 1)[1]: None for i in ids if i.startswith("leakage-") and ":" in i}


def _split_mismatch(leakage: Any, judged: dict[str, Any] | None) -> str:
    """How the check's eval splits differ from the audit's, in words ("" when they agree)."""
    if judged is None:
        return ""
    audited = {str(k): get(v, "rows") for k, v in leakage.items()} if isinstance(leakage, Mapping) else {}
    only_check, only_audit = sorted(set(judged) - set(audited)), sorted(set(audited) - set(judged))
    rows = [n for n in sorted(set(judged) & set(audited)) if judged[n] is not None and audited[n] is not None and judged[n] != audited[n]]
    parts = []
    if only_check:
        parts.append(f"the check's {_listed(only_check)} not in this audit")
    if only_audit:
        parts.append(f"this audit's {_listed(only_audit)} not in the check")
    parts += [f"{_quoted(n)} has {judged[n]:,} rows in the check, {audited[n]:,} in this audit" for n in rows[:3]]
    return "; ".join(parts)


def _quoted(name: str) -> str:
    return repr(graphemes.cut_middle(name, 80))


def _listed(names: list[str]) -> str:
    shown = ", ".join(_quoted(n) for n in names[:3]) + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")
    return f"split{'s' if len(names) > 1 else ''} {shown}"


def _names(paths: Any) -> list[str]:
    return [os.path.basename(os.path.normpath(str(p))) for p in paths] if isinstance(paths, list) else []


def _described(paths: Any, rows: Any) -> str:
    listed = list(paths) if isinstance(paths, list) else []
    named = ", ".join(str(p) for p in listed[:2]) + (f" and {len(listed) - 2:,} more" if len(listed) > 2 else "")
    return f"{named or 'no paths'}, {rows:,} rows" if isinstance(rows, int) else named or "no paths"
