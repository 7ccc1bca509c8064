"""Auditing a dataset: run the core over a source, the typed result and its JSON, leakage,
conflicting labels, and dedup (keep one row per cluster).

The names below are loaded on first use (PEP 562): the modules that run the work import polars,
numpy and pyarrow, and `auditing.keys` (what the configuration reads) must not load them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .dedup_shards import dedup_to_folder, is_folder_output
    from .deduplicate import DedupSummary, dedup, dedup_to_file
    from .result import AuditResult
    from .run import audit

_EXPORTS = {
    "AuditResult": ".result",
    "DedupSummary": ".deduplicate",
    "audit": ".run",
    "dedup": ".deduplicate",
    "dedup_to_file": ".deduplicate",
    "dedup_to_folder": ".dedup_shards",
    "is_folder_output": ".dedup_shards",
}

__all__ = ["AuditResult", "DedupSummary", "audit", "dedup", "dedup_to_file", "dedup_to_folder", "is_folder_output"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
