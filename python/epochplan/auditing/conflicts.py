"""Conflicting labels: duplicate clusters whose members carry different labels. The core finds
them (labels are streamed into it with the text); this module only types its answer."""

from __future__ import annotations

from typing import Any

from .result import EXAMPLES, ConflictExample, Conflicts


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
