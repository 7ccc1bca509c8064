"""Whether the JSON files given to `report` describe one dataset. A plan or a check made from
other data (or a plan from counts given by hand) would otherwise be shown beside the audit as if
they were its own; the report says so on the page and `epochplan report` warns on stderr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

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
    return found


def _names(paths: Any) -> list[str]:
    return [os.path.basename(os.path.normpath(str(p))) for p in paths] if isinstance(paths, list) else []


def _described(paths: Any, rows: Any) -> str:
    listed = list(paths) if isinstance(paths, list) else []
    named = ", ".join(str(p) for p in listed[:2]) + (f" and {len(listed) - 2:,} more" if len(listed) > 2 else "")
    return f"{named or 'no paths'}, {rows:,} rows" if isinstance(rows, int) else named or "no paths"
