"""The data sections of the HTML report: summary, duplicates, lengths, leakage (labels:
labels_section.py, checks: check_section.py, plan: plan_section.py).

Each function takes the report's inputs and caps and returns one `<section>`; a section whose data
the audit does not have says why instead of disappearing, so its id is always there to link to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import svg
from .blocks import NAME_CHARS, Caps, absent, code, data_name, dl, figure, get, hidden_note, more, num, pct, plural, section, table
from .report_match import mismatches
from .text import message, plain, shown, word_diff


# --- summary ----------------------------------------------------------------------------------
def unique_tokens(audit: Mapping[str, Any], plan: Mapping[str, Any] | None) -> tuple[Any, str]:
    for level in ("near", "exact"):
        value = get(audit, level, "unique_tokens")
        if value is not None:
            estimated = get(audit, "lengths", "tokens", "estimated")
            return value, f"{level}-unique" + (", estimated" if estimated else "")
    if get(plan, "unique_tokens") is not None:
        return plan["unique_tokens"], "estimate: UTF-8 bytes / 4 of the unique share"  # type: ignore[index]
    return None, "no token count in the audit"


def summary(audit: Mapping[str, Any], plan: Mapping[str, Any] | None, check: Mapping[str, Any] | None, caps: Caps) -> str:
    rows = audit.get("rows")
    source = audit.get("source") or {}
    paths = list(source.get("paths") or [])
    body = []
    facts = [("rows", num(rows)), ("null / empty texts", f"{num(audit.get('null_rows'))} / {num(audit.get('empty_rows'))}")]
    for level in ("exact", "near"):
        if isinstance(audit.get(level), Mapping):
            block = audit[level]
            facts.append((f"{level}-unique samples", num(block.get("unique")) + pct(block.get("unique"), rows)))
    tokens, how = unique_tokens(audit, plan)
    facts.append(("unique tokens", f"{num(tokens)} <small>({how})</small>"))
    if plan:
        epochs, steps = get(plan, "epochs", "planned"), plan.get("total_steps")
        facts.append(("planned", f"{num(epochs)} {plural('epoch', epochs)}, {num(steps)} {plural('step', steps)}"))
    diversity = audit.get("diversity") or {}
    if diversity:
        facts.append(
            (
                "vocabulary / distinct-1 / distinct-2",
                f"{num(diversity.get('vocabulary'))} / {num(diversity.get('distinct_1'))} / {num(diversity.get('distinct_2'))}",
            )
        )
    body.append(dl(facts))
    src = [
        (
            "data",
            ", ".join(code(p) for p in paths[: min(5, caps.items)])
            + (f" and {len(paths) - min(5, caps.items):,} more" if len(paths) > min(5, caps.items) else ""),
        ),
        ("text", ", ".join(code(c) for c in (source.get("text_columns") or [])[: caps.items])),
        ("label", code(source["label_column"]) if source.get("label_column") else "none"),
        ("normalize", code(source.get("normalize", "default"))),
    ]
    body.append(dl(src))
    body.append(_warnings(audit, plan, check, caps))
    return section("summary", "Summary", body)


def _warnings(audit: Mapping[str, Any], plan: Mapping[str, Any] | None, check: Mapping[str, Any] | None, caps: Caps) -> str:
    items = [f"<strong>report</strong>: {message(m, caps.message)}" for m in mismatches(audit, plan, check)]
    audit_warnings = [w for w in audit.get("warnings") or [] if isinstance(w, Mapping)]
    for warning in audit_warnings[: caps.items]:
        text = f"<strong>{plain(warning.get('id', 'warning'), NAME_CHARS)}</strong>: {message(warning.get('message', ''), caps.message)}"
        if warning.get("share") is not None:
            text += f" <small>(share {num(warning['share'])})</small>"
        if caps.examples and warning.get("text"):
            text += f'<div class="txt">{shown(warning["text"], caps.text)}</div>'
        items.append(text)
    plan_warnings = list(get(plan, "warnings") or [])
    for text in plan_warnings[: caps.items]:
        items.append(f"<strong>plan</strong>: {message(text, caps.message)}")
    # The checks that fail the gate, and those skipped because their input held nothing (an empty eval split).
    failing = [r for r in get(check, "checks") or [] if isinstance(r, Mapping) and (r.get("fails_gate") is True or r.get("warns") is True)]
    for result in failing[: caps.items]:
        items.append(f"<strong>check {data_name(result.get('id'))}</strong>: {message(result.get('message', ''), caps.message)}")
    if not items:
        return "<h3>Warnings</h3>" + absent("No warnings.")
    # Each kind is listed up to its cap, and what is left out is counted, never dropped silently.
    hidden = [
        (len(audit_warnings) - caps.items, "audit warnings", "in the audit JSON"),
        (len(plan_warnings) - caps.items, "plan warnings", "in the plan JSON"),
        (len(failing) - caps.items, "checks that fail the gate or judged nothing", 'listed in <a href="#checks">Checks</a>'),
    ]
    notes = "".join(f'<p class="note">{n:,} more {what} not shown ({where}).</p>' for n, what, where in hidden if n > 0)
    return '<h3>Warnings</h3><ul class="warnings">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>" + notes


# --- duplicates -------------------------------------------------------------------------------
def size_bins(histogram: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    """[[size, clusters], ...] gathered into power-of-two size bins [1], [2], [3, 4], [5, 8], ..."""
    totals: dict[int, int] = {}
    for size, clusters in histogram:
        k = max(0, math.ceil(math.log2(size))) if size >= 1 else 0
        totals[k] = totals.get(k, 0) + int(clusters)
    if not totals:
        return []
    out = []
    for k in range(0, max(totals) + 1):
        lo = 1 if k == 0 else 2 ** (k - 1) + 1
        out.append((lo, 2**k + 1, totals.get(k, 0)))
    return out


def duplicates(audit: Mapping[str, Any], caps: Caps) -> str:
    body = []
    for level in ("exact", "near"):
        block = audit.get(level)
        if not isinstance(block, Mapping):
            body.append(
                f"<h3>{level.title()} duplicates</h3>"
                + absent(
                    "Near duplicates were not searched (<code>--no-near</code>)." if level == "near" else "No exact block in the audit."
                )
            )
            continue
        body.append(f"<h3>{level.title()} duplicates</h3>")
        facts = [
            ("clusters (size ≥ 2)", num(block.get("clusters"))),
            ("largest", num(block.get("largest_cluster"))),
            ("duplicate rows", num(block.get("duplicate_rows")) + pct(block.get("duplicate_rows"), audit.get("rows"))),
        ]
        if level == "near":
            facts += [
                (key, num(block.get(key)))
                for key in ("threshold", "shingle", "ngram", "char_ngram", "clustering", "verify")
                if block.get(key) is not None
            ]
        body.append(dl(facts))
        histogram = block.get("size_histogram")
        if histogram:
            bins = size_bins(histogram)
            body.append(
                figure(
                    svg.histogram(bins, x_label="cluster size (rows)", y_label="clusters", log_y=True),
                    f"{level.title()} clusters by size, log axes (size 1 = a text without duplicates).",
                )
            )
        elif histogram is not None:  # present and empty: no non-null text, no cluster
            body.append(absent("No clusters: the audit has no non-null text."))
        else:
            body.append(absent(f"The audit JSON has no <code>{level}.size_histogram</code>: no cluster-size histogram."))
        body.append(_clusters(level, block.get("top") or [], caps))
    return section("duplicates", "Duplicates", body)


def _clusters(level: str, top: Sequence[Mapping[str, Any]], caps: Caps) -> str:
    if not top:
        return absent(f"No {level} duplicate clusters.")
    body = [f"<h4>Largest {level} clusters</h4>"]
    if not caps.examples:
        rows = [[num(c.get("row")), num(c.get("count"))] for c in top[: 2 * caps.clusters]]
        return "".join(body) + table(["representative row", "rows"], rows) + hidden_note()
    missing = False
    for cluster in top[: caps.clusters]:
        members = cluster.get("members")
        rep_text = cluster.get("text")
        head = f'<p class="cluster-head">{num(cluster.get("count"))} rows · representative row {num(cluster.get("row"))}</p>'
        if rep_text is None or not members:
            missing = True
            text = rep_text if rep_text is not None else cluster.get("preview", "")
            body.append(f'<div class="cluster">{head}<div class="txt">{shown(text, caps.text)}</div></div>')
            continue
        body.append(f'<div class="cluster">{head}{_members(level, cluster, str(rep_text), members, caps)}</div>')
    body.append(more(len(top), caps.clusters, "clusters"))
    if missing:
        body.append(
            f'<p class="note">Members are not in the audit JSON (<code>{level}.top[].text</code>, '
            f"<code>{level}.top[].members</code>): showing the representative or its preview.</p>"
        )
    return "".join(body)


def _members(level: str, cluster: Mapping[str, Any], rep_text: str, members: Sequence[Mapping[str, Any]], caps: Caps) -> str:
    """Members whose text differs from the representative's side by side with it, differing words
    marked; members with exactly its text only named (a wall of identical pairs says nothing)."""
    differ = [m for m in members if str(m.get("text", "")) != rep_text]
    same = [m for m in members if str(m.get("text", "")) == rep_text]
    # A text that ends in "…" was cut in the JSON (2,000 characters): equal there is equal so far.
    one = len(same) == 1
    if rep_text.endswith("…"):
        alike = f"{'begins' if one else 'begin'} with this text as far as the audit kept it"
    else:
        alike = f"{'has' if one else 'have'} exactly this text"
    rows = []
    for member in differ[: caps.members]:
        left, right = word_diff(rep_text, str(member.get("text", "")), caps.text)
        similarity = member.get("similarity")
        sim = num(similarity) if similarity is not None else ("1 (same normalised text)" if level == "exact" else "–")
        rows.append(
            [
                f'<div class="rowno">row {num(cluster.get("row"))}</div><div class="txt">{left}</div>',
                f'<div class="rowno">row {num(member.get("row"))}</div><div class="txt">{right}</div>',
                sim,
            ]
        )
    out = (
        table(["representative", "member", "similarity"], rows, "pairs")
        if rows
        else f'<div class="rowno">row {num(cluster.get("row"))}</div><div class="txt">{shown(rep_text, caps.text)}</div>'
    )
    if same:
        out += f'<p class="note">{"Row" if one else "Rows"} {", ".join(num(m.get("row")) for m in same)} {alike}{" as the representative" if rows else ""}.</p>'
    count = cluster.get("count")
    listed = len(differ[: caps.members]) + len(same)
    if isinstance(count, int) and count - 1 > listed:
        out += f'<p class="note">{count - 1 - listed:,} more members not shown.</p>'
    return out


# --- lengths ----------------------------------------------------------------------------------
def seq_len_of(plan: Mapping[str, Any] | None) -> int | None:
    value = get(plan, "seq_len") or get(plan, "setup", "seq_len")
    return value if isinstance(value, int) and value > 0 else None


def lengths(audit: Mapping[str, Any], plan: Mapping[str, Any] | None) -> str:
    block = audit.get("lengths") or {}
    seq_len = seq_len_of(plan)
    body, rows = [], []
    for unit in ("chars", "words", "tokens"):
        stats = block.get(unit)
        if not isinstance(stats, Mapping):
            continue
        rows.append([unit] + [num(stats.get(k)) for k in ("mean", "p50", "p90", "p99", "max")])
        marker = [(seq_len, f"seq_len {seq_len:,}")] if unit == "tokens" and seq_len else []
        histogram = stats.get("histogram")
        title = (
            unit
            if unit != "tokens"
            else "tokens"
            + (
                " (estimated: UTF-8 bytes / 4)"
                if stats.get("estimated")
                else f" ({plain(stats.get('tokenizer') or 'tokenizer', NAME_CHARS)})"
            )
        )
        if histogram:
            bins = [(lo, hi, int(count)) for lo, hi, count in histogram]
            body.append(
                figure(
                    svg.histogram(bins, x_label=f"length in {unit}", y_label="texts", markers=marker),
                    f"Length in {title}: texts per length bin.",
                )
            )
        elif stats.get("max") is not None:
            bars = [(k, float(stats[k])) for k in ("p50", "p90", "p99", "max") if stats.get(k) is not None]
            if stats.get("mean") is not None:
                bars.insert(0, ("mean", float(stats["mean"])))
            body.append(
                figure(
                    svg.hbars(bars, x_label=f"length in {unit}", log_x=True, marker=marker[0] if marker else None),
                    f"Length in {title}: quantiles (the audit JSON has no <code>lengths.{unit}.histogram</code>).",
                )
            )
    if not rows:
        return section("lengths", "Lengths", [absent("Every text is null: no lengths.")])
    body = [table(["unit", "mean", "p50", "p90", "p99", "max"], rows, "num"), f'<div class="charts">{"".join(body)}</div>']
    if not isinstance(block.get("tokens"), Mapping):
        body.append(
            absent(
                f"Token lengths: only the total estimate <code>lengths.tokens_estimate</code> = "
                f"{num(block.get('tokens_estimate'))} (UTF-8 bytes / 4). Audit with <code>--tokenizer</code> for per-text tokens."
            )
        )
    if seq_len is None:
        body.append('<p class="note">Sequence length not known (plan without <code>--seq-len</code>): not marked.</p>')
    elif not isinstance(block.get("tokens"), Mapping):
        body.append(f'<p class="note">Sequence length {seq_len:,} tokens: not marked, the audit has no token lengths.</p>')
    for key in ("truncated_samples", "truncated_tokens"):
        if get(plan, key) is not None:
            at = f" at seq_len {seq_len:,}" if seq_len is not None else ""  # a plan names them only with a seq_len
            body.append(f'<p class="note">{key.replace("_", " ")}{at}: {num(plan[key])}</p>')  # type: ignore[index]
    return section("lengths", "Lengths", body)


# --- leakage ----------------------------------------------------------------------------------
def leakage(audit: Mapping[str, Any], caps: Caps) -> str:
    splits = audit.get("leakage")
    if not isinstance(splits, Mapping) or not splits:
        return section(
            "leakage",
            "Leakage",
            [
                absent(
                    "No <code>--eval</code> split given: leakage is checked for each eval split against train "
                    "(<code>epochplan audit train.parquet --eval val.parquet</code>)."
                )
            ],
        )
    names = list(splits)[: caps.items]
    rows = []
    for name in names:
        split = splits[name] or {}
        total = split.get("rows")
        rows.append(
            [
                code(name),
                num(total),
                num(split.get("exact_in_train")) + pct(split.get("exact_in_train"), total),
                num(split.get("near_in_train")) + pct(split.get("near_in_train"), total),
            ]
        )
    body = [table(["split", "eval rows", "exact in train", "near in train"], rows), more(len(splits), len(names), "splits")]
    for name in names[:5]:
        body.append(f"<h3>{code(name)}: eval rows and their train match</h3>" + _leak_examples(splits[name] or {}, caps))
    return section("leakage", "Leakage", body)


def _leak_examples(split: Mapping[str, Any], caps: Caps) -> str:
    examples = split.get("examples") or []
    if not examples:
        return absent("No eval row of this split is in train.")
    rows, missing = [], False
    for ex in examples[: caps.leaks]:
        sim = num(ex.get("similarity"))
        if caps.examples and ex.get("eval_text") is not None and ex.get("train_text") is not None:
            left, right = word_diff(str(ex["eval_text"]), str(ex["train_text"]), caps.text)
            rows.append(
                [
                    f'<div class="rowno">eval row {num(ex.get("eval_row"))}</div><div class="txt">{left}</div>',
                    f'<div class="rowno">train row {num(ex.get("train_row"))}</div><div class="txt">{right}</div>',
                    sim,
                ]
            )
        else:
            missing |= caps.examples
            rows.append([f"eval row {num(ex.get('eval_row'))}", f"train row {num(ex.get('train_row'))}", sim])
    out = table(["eval", "train match", "similarity"], rows, "pairs") + more(len(examples), caps.leaks, "matches")
    if not caps.examples:
        out += hidden_note()
    elif missing:
        out += '<p class="note">Texts are not in the audit JSON (<code>leakage.NAME.examples[].eval_text</code> / <code>train_text</code>).</p>'
    return out
