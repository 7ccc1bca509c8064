"""Conflicting labels: duplicate clusters whose members carry different labels. The core finds
them (labels are streamed into it with the text); this module types its answer and words dedup's warning about them."""

from __future__ import annotations

from typing import Any

from ..errors import option
from .result import EXAMPLES, AuditResult, ConflictExample, Conflicts

#: Where the command line sees the conflicts, before its `--label`: the Python API says it otherwise
#: (`output_columns`' phrases).
SEE_CONFLICTS = "see them with epochplan audit "


def conflicts_from_core(auditor: Any) -> Conflicts | None:
    """The core's conflicting-label report (after `finish_near`), or None without labels."""
    found = auditor.conflicts(EXAMPLES)
    if found is None:
        return None
    return Conflicts(
        exact_clusters=found["exact_clusters"],
        near_clusters=found["near_clusters"],
        rows=found["rows"],
        examples=[ConflictExample(rows=list(e["rows"]), labels=list(e["labels"])) for e in found["examples"]],
    )


def conflict_warning(result: AuditResult, level: str, keep: str) -> tuple[str, ...]:
    """With a label column: how many kept rows stand for clusters whose rows carry different
    labels (a row is kept whole, with its own label; the other labels are dropped)."""
    label, conflicts = result.source.label_column, result.conflicts
    if label is None or conflicts is None:
        return ()
    clusters = conflicts.near_clusters if level == "near" and conflicts.near_clusters is not None else conflicts.exact_clusters
    if not clusters:
        return ()
    which = "first (lowest) row's" if keep == "first" else "longest row's"
    return (
        f"{clusters:,} kept rows stand for {level}-duplicate clusters whose rows carry different labels in {label!r}; "
        f"each kept its {which} label and the others were dropped: {SEE_CONFLICTS}{option('--label', label)}",
    )
