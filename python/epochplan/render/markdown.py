"""The audit's headline as Markdown: `epochplan audit --markdown PATH` and the GitHub Actions job
summary. The same numbers as the HTML report's summary section, for a PR comment or a CI page.

Data text is hostile (it can close a table, start a heading or hide behind a bidirectional
override): it appears only with examples, in an inline code span, with control characters and
bidi overrides written as escapes and backticks and pipes neutralised (`code_span`), or with its
markup escaped where it sits inside a sentence of ours (`cell`). `check`'s job summary
(render/github.py) writes data text with the same two functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import graphemes
from ..auditing.tokenizer import counted_by_tokenizer
from .blocks import percent, plural
from .text import visible_unsafe

PREVIEW_CHARS = 80
#: A split name or check id in a table: Markdown has no tooltip, so more of a long name is kept.
SPLIT_CHARS = 200


def _n(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"  # 1,334, not 1.33e+03
    return cell(str(value), 80)


def _pct(part: Any, whole: Any) -> str:
    if isinstance(part, (int, float)) and isinstance(whole, (int, float)) and whole:
        return f" ({percent(part, whole)})"
    return ""


def cell(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`text` safe inside a Markdown table cell: one line, no pipe, no markup that survives.
    `keep_end` cuts a long name in its middle, so two that differ only at the end stay apart."""
    text = visible_unsafe(text.replace("\r", " ").replace("\n", " "))
    text = graphemes.cut_middle(text, limit) if keep_end else graphemes.cut(text, limit, "…")
    for char in "\\`*_[]<>|#!~":
        text = text.replace(char, "\\" + char)
    return text


def code_span(text: str, limit: int = PREVIEW_CHARS, *, keep_end: bool = False) -> str:
    """Data text as an inline code span (nothing inside is markup); backticks become ’.
    `keep_end` cuts a long name in its middle, as `cell`."""
    text = visible_unsafe(text.replace("\r", " ").replace("\n", " ")).replace("`", "’").replace("|", "¦")
    text = graphemes.cut_middle(text, limit) if keep_end else graphemes.cut(text, limit, "…")
    return f"`{text}`" if text.strip() else "(empty)"


def render_markdown(audit: Mapping[str, Any], plan: Mapping[str, Any] | None = None, *, examples: bool = True) -> str:
    """The headline of an `epochplan.audit/1` dict (and its plan) as Markdown. `examples=False`
    shows no text from the data (names of columns, splits and labels stay)."""
    plan = plan if plan is not None else audit.get("plan")
    rows = audit.get("rows")
    source = audit.get("source") or {}
    paths = source.get("paths") or []
    where = ", ".join(code_span(str(p), 120) for p in paths[:5]) or "(in-memory table)"
    if len(paths) > 5:
        where += f" and {len(paths) - 5:,} more"
    lines = [
        "## epochplan audit",
        "",
        f"{where}: {_n(rows)} rows, {_n(audit.get('null_rows'))} null, {_n(audit.get('empty_rows'))} empty.",
        "",
    ]
    lines += ["| | unique samples | duplicate rows | clusters | largest |", "| --- | ---: | ---: | ---: | ---: |"]
    for level in ("exact", "near"):
        block = audit.get(level)
        if isinstance(block, Mapping):
            lines.append(
                f"| {level} | {_n(block.get('unique'))}{_pct(block.get('unique'), rows)} | {_n(block.get('duplicate_rows'))} "
                f"| {_n(block.get('clusters'))} | {_n(block.get('largest_cluster'))} |"
            )
    lengths = audit.get("lengths") or {}
    tokens = next(
        (audit[level]["unique_tokens"] for level in ("near", "exact") if (audit.get(level) or {}).get("unique_tokens") is not None), None
    )
    lines.append("")
    if tokens is not None:
        # The bytes/4 estimate says so, as in the terminal and the page; tokenizer counts name it.
        estimated = (lengths.get("tokens") or {}).get("estimated")
        counted = counted_by_tokenizer(estimated, (audit.get("source") or {}).get("tokenizer"))
        how = " (tokenizer counts)" if counted else " (estimate, UTF-8 bytes / 4)"
        lines.append(f"Unique tokens{how}: {_n(tokens)}.")
    else:
        lines.append(f"Tokens (estimate, UTF-8 bytes / 4): {_n(lengths.get('tokens_estimate'))}.")
    leakage = audit.get("leakage") or {}
    if leakage:
        lines += ["", "| eval split | rows | exact in train | near in train |", "| --- | ---: | ---: | ---: |"]
        for name, split in sorted(leakage.items())[:20]:  # name order, as in the JSON file and the HTML page
            total = split.get("rows")
            exact, near = split.get("exact_in_train"), split.get("near_in_train")
            lines.append(
                f"| {cell(str(name), SPLIT_CHARS, keep_end=True)} | {_n(total)} | {_n(exact)}{_pct(exact, total)} | {_n(near)}{_pct(near, total)} |"
            )
    conflicts = audit.get("conflicts")
    if isinstance(conflicts, Mapping):
        lines += [
            "",
            f"Conflicting labels: {_n(conflicts.get('rows'))} rows in {_n(conflicts.get('exact_clusters'))} exact / "
            f"{_n(conflicts.get('near_clusters'))} near clusters.",
        ]
    warnings = [w for w in audit.get("warnings") or [] if isinstance(w, Mapping)]
    plan_warnings = list((plan or {}).get("warnings") or []) if isinstance(plan, Mapping) else []
    if warnings or plan_warnings:
        lines.append("")
        for w in warnings[:10]:
            lines.append(f"- **{cell(str(w.get('id', 'warning')), 40)}**: {cell(str(w.get('message', '')), 600)}")
            if examples and w.get("text"):
                lines.append(f"  {code_span(str(w['text']))}")
        for message in plan_warnings[:10]:
            lines.append(f"- **plan**: {cell(str(message), 300)}")
    if examples:
        for level in ("exact", "near"):
            top = (audit.get(level) or {}).get("top") or []
            if top:
                lines += ["", f"Largest {level} clusters:", "", "| row | rows | text |", "| ---: | ---: | --- |"]
                for cluster in top[:3]:
                    text = cluster.get("text") if cluster.get("text") is not None else cluster.get("preview", "")
                    lines.append(f"| {_n(cluster.get('row'))} | {_n(cluster.get('count'))} | {code_span(str(text or ''))} |")
    if isinstance(plan, Mapping) and plan.get("total_steps") is not None:
        epochs = plan.get("epochs") or {}
        lines += [
            "",
            f"Plan ({cell(str(plan.get('regime', '')), 30)}): {_n(epochs.get('planned'))} {plural('epoch', epochs.get('planned'))} "
            f"(range {_n(epochs.get('min'))}–{_n(epochs.get('max'))}), {_n(plan.get('total_steps'))} {plural('step', plan.get('total_steps'))}, "
            f"{_n(plan.get('warmup_steps'))} warm-up.",
        ]
    return "\n".join(lines) + "\n\n"
