"""Auditing a dataset: run the core over a source, the typed result and its JSON, leakage,
conflicting labels, and dedup (keep one row per cluster)."""

from .dedup_shards import dedup_to_folder, is_folder_output
from .deduplicate import DedupSummary, dedup, dedup_to_file
from .result import AuditResult
from .run import audit

__all__ = ["AuditResult", "DedupSummary", "audit", "dedup", "dedup_to_file", "dedup_to_folder", "is_folder_output"]
