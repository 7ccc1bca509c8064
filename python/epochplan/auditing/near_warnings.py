"""The audit's warnings about near-duplicate verification: `near-capped` (rows whose band
buckets held more candidates than the check verifies: near duplicates possibly missed) and
`near-sketch` (merges and leaks decided by a sketch estimate just past the threshold, on rows that
share much text: possibly false)."""

from __future__ import annotations

import math

from .. import defaults
from .result import AuditWarning, TemplateSignal

#: The command line's way to measure what a sketch estimated (the Python API says `verify='exact'`:
#: `output_columns`' phrases).
VERIFY_EXACT = "--verify exact"
#: The command line's way past a shared template: another column (the Python API says `text=...`:
#: `output_columns`' phrases; `in_keywords` alone would write `text (…)` before a list of columns).
VARYING_COLUMN = "a column that varies with --text"


def capped_warning(capped: int, rows: int) -> AuditWarning:
    """A `near-capped` warning: rows that shared band buckets with so many different
    representatives (a template shared by many rows) that the core stopped verifying before it
    found a match; each stands alone, so a few near duplicates may be missed."""
    message = (
        f"{capped:,} rows share band buckets with more representatives than the near-duplicate check verifies "
        f"({defaults.NEAR_MAX_CHECKS} lowest rows, then {defaults.NEAR_MAX_CHECKS} sharing the most buckets): a template "
        "shared by many different rows; each stands alone, so a few near duplicates may be missed. "
        f"Audit {VARYING_COLUMN}, or strip the shared text first"
    )
    return AuditWarning("near-capped", message, capped / rows if rows else 0.0, "")


def sketch_margin(threshold: float, num_perm: int) -> float:
    """How far above the threshold a sketch estimate may stand for a pair below it: 2.5 standard
    errors of a `num_perm`-slot MinHash estimate at the threshold, sqrt(J (1 - J) / num_perm)
    (0.10 at 0.7 with 128 slots, 0.07 with 256). The `near-sketch` warning counts the merges and
    leaks whose estimate is under threshold + margin."""
    return 2.5 * math.sqrt(threshold * (1 - threshold) / num_perm)


def sketch_warning(
    signal: TemplateSignal | None, capped: int, rows: int, threshold: float, margin: float, merged: int, leaked: int
) -> AuditWarning | None:
    """A `near-sketch` warning: near duplicates verified by sketch estimates (`--verify sketch`)
    on rows that share much text — most rows share a template (the signal's share over the core's
    TEMPLATE_SHARE), or `capped` rows reached the check cap — where `merged` near members and
    `leaked` eval rows matched on an estimate within `margin` (`sketch_margin`) of the threshold. Each such row
    is checked against many rows just below the threshold, and one estimate can pass it by chance,
    so these may be false merges and false leaks (5,000 product pages of true Jaccard 0.60–0.69:
    641 merged); `--verify exact` measures them. None when nothing matched that close."""
    if not merged and not leaked:
        return None
    if signal is not None and signal.share > defaults.TEMPLATE_SHARE:
        if signal.source == "near-cluster":
            where = "fall in one near-duplicate cluster"
        else:
            verb = "start" if signal.source == "prefix" else "end"
            where = f"{verb} with the same text" if signal.templates == 1 else f"{verb} with one of {signal.templates} shared texts"
        shared = f"{100 * signal.share:.0f} % of rows {where}"
    elif capped:
        shared = f"{capped:,} rows share band buckets with more rows than the check verifies"
    else:
        return None
    found = " and ".join(
        part
        for part in (
            f"{merged:,} rows joined a near cluster" if merged else "",
            f"{leaked:,} eval rows matched as near leaks" if leaked else "",
        )
        if part
    )
    false = " and ".join(
        part for part in ("false near duplicates that dedup would drop" if merged else "", "false leaks" if leaked else "") if part
    )
    message = (
        f"near duplicates were verified by sketch estimates on rows that share much text ({shared}): {found} with an "
        f"estimate under {min(threshold + margin, 1.0):.2f} (threshold {threshold:g}). Each was checked against many similar rows "
        "just below the threshold, and an estimate can pass it by chance, so some of these may be below the threshold "
        f"({false}). Rerun with {VERIFY_EXACT} to measure the true similarity"
    )
    return AuditWarning("near-sketch", message, merged / rows if rows else 0.0, signal.text if signal is not None else "")
