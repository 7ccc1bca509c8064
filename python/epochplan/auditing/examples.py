"""Example texts for a report, read back from the data after the audit, so that
`epochplan report audit.json` needs no access to the data.

The core names the rows (top clusters' representatives and members, leakage matches, conflicting
rows); this module reads those few rows back in bulk (`sources.preview_rows`: one decode per
Parquet row group) and puts each text, as read and cut to `TEXT_CHARS`, beside its row number.
Without examples (`--no-examples`) nothing is read and every text, the stored cluster previews
included, is left out, so a JSON, HTML or Markdown file made from the audit holds no data text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .. import graphemes
from ..sources import Source, preview_rows
from .leakage import EvalSplit
from .result import EXAMPLES, TEXT_CHARS, AuditResult, ClusterStats, ConflictExample

#: Rows of a conflicting-label group whose texts are kept.
CONFLICT_TEXTS = EXAMPLES
ELLIPSIS = "…"


def cut(text: str | None, limit: int = TEXT_CHARS) -> str | None:
    """`text` cut to `limit` characters, the last one "…" when anything was cut (never inside
    a visible character: a letter and its marks, an emoji sequence)."""
    return text if text is None else graphemes.cut(text, limit, ELLIPSIS)


def attach_texts(result: AuditResult, source: Source, columns: list[str], eval_sources: Mapping[str, EvalSplit]) -> None:
    """Fill the example texts of `result` in place, reading each source once."""
    wanted: set[int] = set()
    for stats in (result.exact, result.near):
        for top in stats.top if stats is not None else ():
            wanted.add(top.row)
            wanted.update(m.row for m in top.members)
    for leak in result.leakage.values():
        wanted.update(e.train_row for e in leak.examples)
    if result.conflicts is not None:
        for group in result.conflicts.examples:
            wanted.update(group.rows[:CONFLICT_TEXTS])
            wanted.update(row for row, _ in _first_of_label(group))
    texts = {row: cut(text) for row, text in preview_rows(source, columns, wanted).items()}

    result.exact = _with_cluster_texts(result.exact, texts)
    if result.near is not None:
        result.near = _with_cluster_texts(result.near, texts)
    for name, leak in result.leakage.items():
        eval_texts = {}
        if name in eval_sources:
            eval_source, _, eval_columns = eval_sources[name]
            eval_texts = preview_rows(eval_source, eval_columns, {e.eval_row for e in leak.examples})
        examples = [
            replace(e, eval_text=cut(eval_texts.get(e.eval_row)) or "", train_text=texts.get(e.train_row) or "") for e in leak.examples
        ]
        result.leakage[name] = replace(leak, examples=examples)
    if result.conflicts is not None:
        groups = [
            replace(
                g,
                texts=[texts.get(r) for r in g.rows[:CONFLICT_TEXTS]],
                first_of_label=[{"row": row, "label": label, "text": texts.get(row)} for row, label in _first_of_label(g)],
            )
            for g in result.conflicts.examples
        ]
        result.conflicts = replace(result.conflicts, examples=groups)


def _first_of_label(group: ConflictExample) -> list[tuple[int, str | None]]:
    """The first row of each of the group's first `CONFLICT_TEXTS` labels, in row order: the rows
    a report shows first (the first rows alone may all carry one label)."""
    first: dict[str | None, int] = {}
    for row, label in zip(group.rows, group.labels):
        if label not in first:
            first[label] = row
            if len(first) == CONFLICT_TEXTS:
                break
    return [(row, label) for label, row in first.items()]


def _with_cluster_texts(stats: ClusterStats, texts: Mapping[int, str | None]) -> ClusterStats:
    top = [
        replace(t, text=texts.get(t.row) or "", members=tuple(replace(m, text=texts.get(m.row) or "") for m in t.members))
        for t in stats.top
    ]
    return replace(stats, top=top)


def drop_texts(result: AuditResult) -> None:
    """Leave every data text out of `result` (in place): the stored previews become ""."""
    result.exact = replace(result.exact, top=[replace(t, preview="", text=None) for t in result.exact.top])
    if result.near is not None:
        result.near = replace(result.near, top=[replace(t, preview="", text=None) for t in result.near.top])
