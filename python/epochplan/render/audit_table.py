"""The terminal summary of an audit (rich, stdout)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..auditing.result import AuditResult, AuditWarning, ClusterStats, Labels, LengthStats
from ..auditing.tokenizer import TokenLengthStats, counted_by_tokenizer
from ..sources import shown_label
from .blocks import up_to_one
from .console import data_text
from .near_examples import escape_controls, render_near_examples

#: Classes listed in the label table; past this many, the largest and the smallest are shown and
#: the rest counted (the smallest is the class behind the printed imbalance).
LABEL_ROWS = 25


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} %" if whole else "-"


def _lengths_row(name: str, s: LengthStats | TokenLengthStats | None) -> list[str]:
    if s is None:
        return [name, "-", "-", "-", "-", "-"]
    return [name, f"{s.mean:,.1f}", f"{s.p50:,}", f"{s.p90:,}", f"{s.p99:,}", f"{s.max:,}"]


def _cluster_table(title: str, stats: ClusterStats) -> Table:
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("row", justify="right", no_wrap=True, min_width=5)
    table.add_column("count", justify="right", no_wrap=True, min_width=5)
    table.add_column("preview", overflow="ellipsis", no_wrap=True)
    for t in stats.top:
        table.add_row(f"{t.row}", f"{t.count:,}", Text(escape_controls(t.preview)[:70]))
    return table


def render_warnings(warnings: list[AuditWarning], console: Console) -> None:
    """Each warning on its own lines, the shared text quoted (escaped, never read as markup)."""
    for w in warnings:
        line = Text("warning: ", style="bold yellow")
        line.append(w.message)
        console.print(line)
        if w.text:
            console.print(Text("  shared text: ", style="yellow") + Text(f"“{escape_controls(w.text)}”", style="italic"))


def render_audit(result: AuditResult, console: Console | None = None) -> None:
    console = console or Console(emoji=False)
    r = result
    src = data_text(", ".join(r.source.paths) or "(in-memory table)")
    columns = data_text("+".join(r.source.text_columns))
    console.print(f"[bold]epochplan audit[/bold]  {src}  text={columns}  normalize={r.source.normalize}", highlight=False)

    overview = Table(show_header=False, box=None, pad_edge=False)
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    overview.add_column(justify="right", style="dim")
    overview.add_row("rows", f"{r.rows:,}", "")
    overview.add_row("null rows", f"{r.null_rows:,}", _pct(r.null_rows, r.rows))
    overview.add_row("empty rows", f"{r.empty_rows:,}", _pct(r.empty_rows, r.rows))
    overview.add_row("exact unique", f"{r.exact.unique:,}", "")
    overview.add_row("exact duplicate rows", f"{r.exact.duplicate_rows:,}", _pct(r.exact.duplicate_rows, r.rows))
    overview.add_row("exact clusters (size ≥ 2)", f"{r.exact.clusters:,}", f"largest {r.exact.largest_cluster:,}")
    if r.near is not None:
        n = r.near
        overview.add_row(
            f"near unique (Jaccard ≥ {n.threshold:g})", f"{n.unique:,}", f"{n.shingle} {n.ngram}-grams, {n.bands}×{n.rows_per_band} bands"
        )
        overview.add_row("near duplicate rows", f"{n.duplicate_rows:,}", _pct(n.duplicate_rows, r.rows))
        overview.add_row("near clusters (size ≥ 2)", f"{n.clusters:,}", f"largest {n.largest_cluster:,}")
        overview.add_row("near settings", "", f"clustering {n.clustering}, verify {n.verify}, char {n.char_ngram}-grams for unspaced text")
    tokens = r.lengths.tokens
    # Each text's bytes/4 rounded up, as the unique token count below sums them (the corpus-wide
    # `tokens_estimate`, total bytes / 4, can be less than that sum).
    estimate = tokens.total if tokens is not None and tokens.estimated else r.lengths.tokens_estimate
    unread = r.source.token_count_column
    overview.add_row(
        "tokens (estimate, bytes/4)",
        f"{estimate:,}",
        f"the input's {data_text(unread)} column is not read: --tokenizer NAME for exact counts" if unread else "",
    )
    if tokens is not None and not tokens.estimated:
        overview.add_row("tokens (tokenizer)", f"{tokens.total:,}", data_text(tokens.tokenizer or ""))
    unique = r.near if r.near is not None else r.exact
    if unique.unique_tokens is not None:
        counted = counted_by_tokenizer(None if tokens is None else tokens.estimated, r.source.tokenizer)
        how = "tokenizer" if counted else "estimate, bytes/4"
        overview.add_row(f"unique tokens ({how})", f"{unique.unique_tokens:,}", f"{'near' if r.near else 'exact'} representatives")
    d = r.diversity
    # Each counter's own flag: the words' (vocabulary, distinct-1) may be exact where the bigrams' is not.
    overview.add_row("vocabulary", f"{d.vocabulary:,}", "HyperLogLog estimate" if d.vocabulary_estimated else "")
    approx = [name for name, flag in (("distinct-1", d.vocabulary_estimated), ("distinct-2", d.bigrams_estimated)) if flag]
    note = f"{' and '.join(approx)}: HyperLogLog estimate" if approx else ""
    overview.add_row("distinct-1 / distinct-2", f"{_ratio(d.distinct_1)} / {_ratio(d.distinct_2)}", note)
    console.print(overview)

    lengths = Table(title="lengths", title_justify="left", header_style="bold")
    for col in ("", "mean", "p50", "p90", "p99", "max"):
        lengths.add_column(col, justify="right" if col else "left")
    lengths.add_row(*_lengths_row("chars", r.lengths.chars))
    lengths.add_row(*_lengths_row("words", r.lengths.words))
    if tokens is not None:
        lengths.add_row(*_lengths_row("tokens" if not tokens.estimated else "tokens (estimate)", tokens))
    console.print(lengths)

    if r.labels is not None:
        console.print(_label_table(r.labels))
        console.print(
            f"label entropy (normalised) {'-' if r.labels.entropy_normalized is None else up_to_one(r.labels.entropy_normalized)}, "
            f"imbalance {_ratio(r.labels.imbalance_ratio)}, null labels {r.labels.null_labels:,}"
        )

    if r.exact.top:
        console.print(_cluster_table("largest exact clusters (row = representative)", r.exact))
    if r.near is not None and r.near.top:
        console.print(_cluster_table("largest near clusters (row = representative)", r.near))
        render_near_examples(r.near, console)

    if r.leakage:
        leaks = Table(title="train/eval leakage", title_justify="left", header_style="bold")
        for col in ("split", "rows", "exact in train", "near in train", "example (eval row → train row, similarity)"):
            leaks.add_column(col, justify="left" if col in ("split",) or col.startswith("example") else "right")
        for name, leak in r.leakage.items():
            near_count = "-" if leak.near_in_train is None else f"{leak.near_in_train:,} ({_pct(leak.near_in_train, leak.rows)})"
            example = ", ".join(f"{e.eval_row}→{e.train_row} ({e.similarity:.2f})" for e in leak.examples[:3]) or "-"
            leaks.add_row(
                data_text(name), f"{leak.rows:,}", f"{leak.exact_in_train:,} ({_pct(leak.exact_in_train, leak.rows)})", near_count, example
            )
        console.print(leaks)

    if r.conflicts is not None:
        c = r.conflicts
        near_part = "" if c.near_clusters is None else f", {c.near_clusters:,} near clusters"
        console.print(f"conflicting labels: {c.exact_clusters:,} exact clusters{near_part}, {c.rows:,} rows")
        for e in c.examples[:3]:
            names = r.labels.label_names if r.labels is not None else None
            shown = data_text([shown_label(label, names) for label in sorted(set(map(str, e.labels)))])
            console.print(f"  rows {e.rows[:6]}{' …' if len(e.rows) > 6 else ''} labels {shown}", highlight=False)

    near_part = f" / {r.near.unique:,} (near)" if r.near is not None else ""
    console.print(f"[bold]unique samples: {r.exact.unique:,} (exact){near_part}[/bold]")
    render_warnings(r.warnings, console)


def _label_table(labels: Labels) -> Table:
    table = Table(title="labels", title_justify="left", header_style="bold")
    table.add_column("label")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    total = sum(labels.counts.values())
    ranked = sorted(labels.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > LABEL_ROWS:
        largest, smallest = ranked[: LABEL_ROWS - 5], ranked[-4:]
        hidden = len(ranked) - len(largest) - len(smallest)
        rows: list[tuple[str, int] | None] = [*largest, None, *smallest]
    else:
        rows, hidden = list(ranked), 0
    for row in rows:
        if row is None:
            table.add_row(f"… {hidden:,} more classes (all in --json)", "", "", style="dim")
            continue
        name, count = row
        table.add_row(data_text(shown_label(name, labels.label_names)), f"{count:,}", _pct(count, total))
    return table


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"
