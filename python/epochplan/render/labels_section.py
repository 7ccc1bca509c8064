"""The labels section of the HTML report: class counts, balance and conflicting labels (the
clusters whose rows carry different labels), each group with the rows that disagree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..sources import shown_label
from . import svg
from .blocks import Caps, absent, data_name, dl, figure, hidden_note, more, num, section, table, up_to_one
from .text import shown

#: Classes drawn as bars; the rest are counted in one line.
BARS = 30


def labels(audit: Mapping[str, Any], caps: Caps) -> str:
    block = audit.get("labels")
    if not isinstance(block, Mapping):
        return section(
            "labels",
            "Labels",
            [
                absent(
                    "No <code>--label</code> given: class counts, imbalance and conflicting labels need a label column "
                    "(<code>epochplan audit DATA --label COLUMN</code>)."
                )
            ],
        )
    counts = sorted(((str(k), int(v)) for k, v in (block.get("counts") or {}).items()), key=lambda kv: (-kv[1], kv[0]))
    given = block.get("label_names")  # a datasets ClassLabel's names: shown beside the numbers
    names = {str(k): str(v) for k, v in given.items()} if isinstance(given, Mapping) else None
    body = [
        dl(
            [
                ("classes", num(len(counts))),
                ("null labels", num(block.get("null_labels"))),
                ("imbalance (largest / smallest)", num(block.get("imbalance_ratio"))),
                ("normalised entropy", up_to_one(block.get("entropy_normalized"))),
            ]
        )
    ]
    if counts:
        # Past 30 classes the rest are one line of text: as a bar their total set the scale, the
        # named bars were a few pixels wide, and the order was no longer largest first.
        others = counts[BARS:]
        rest = (
            (f"{len(others):,} other classes", f"{sum(v for _, v in others):,} rows, at most {others[0][1]:,} a class") if others else None
        )
        caption = "Rows per class, largest first" + (f"; the {BARS} largest of {len(counts):,} drawn." if others else ".")
        bars = [(shown_label(k, names), v) for k, v in counts[:BARS]]
        body.append(figure(svg.hbars(bars, x_label="rows", rest=rest), caption))
    body.append(_conflicts(audit.get("conflicts"), caps, names))
    return section("labels", "Labels", body)


def _one_per_label(labels: Sequence[Any], rows: int, cap: int) -> list[int]:
    """Which of a conflicting group's `rows` to show, at most `cap`, in row order: the first row
    of each label before any second one, so the labels that disagree are on the page (the first
    rows alone may all carry the same label)."""
    first: dict[str, int] = {}
    for i in range(rows):
        first.setdefault(str(labels[i]) if i < len(labels) else "", i)
    chosen = list(first.values())[:cap]
    chosen += [i for i in range(rows) if i not in set(chosen)][: cap - len(chosen)]
    return sorted(chosen)


def _texts_by_row(group: Mapping[str, Any]) -> dict[Any, Any]:
    """The texts the audit kept for a group's rows: `texts` for its first rows, `first_of_label`
    for the first row of each label (the row that disagrees may come after the first 10)."""
    rows, texts = group.get("rows") or [], group.get("texts") or []
    found = {row: text for row, text in zip(rows, texts) if text is not None}
    for first in group.get("first_of_label") or []:
        if isinstance(first, Mapping) and first.get("text") is not None:
            found.setdefault(first.get("row"), first["text"])
    return found


def _conflicts(block: Any, caps: Caps, label_names: dict[str, str] | None) -> str:
    if not isinstance(block, Mapping):
        return "<h3>Conflicting labels</h3>" + absent("The audit JSON has no <code>conflicts</code> block.")
    out = [
        "<h3>Conflicting labels</h3>",
        dl(
            [
                ("exact clusters", num(block.get("exact_clusters"))),
                ("near clusters", num(block.get("near_clusters"))),
                ("rows", num(block.get("rows"))),
            ]
        ),
    ]
    examples = block.get("examples") or []
    if not examples:
        return "".join(out) + absent("No cluster carries different labels.")
    with_texts = caps.examples and any(group.get("texts") for group in examples[: caps.conflicts])
    if not with_texts:  # one line per group: its rows and how its labels split
        lines = []
        for group in examples[: caps.conflicts]:
            rows, names = group.get("rows") or [], group.get("labels") or []
            tally: dict[str, int] = {}
            for name in names:
                tally[shown_label(name, label_names)] = tally.get(shown_label(name, label_names), 0) + 1
            lines.append(
                [
                    ", ".join(num(r) for r in rows[: caps.items]) + (" …" if len(rows) > caps.items else ""),
                    ", ".join(f"{data_name(k)} ×{v}" for k, v in list(tally.items())[: caps.items]),
                ]
            )
        out.append(table(["rows", "labels"], lines))
    for group in examples[: caps.conflicts] if with_texts else ():
        rows, names = group.get("rows") or [], group.get("labels") or []
        texts = _texts_by_row(group)
        cells = []
        for i in _one_per_label(names, len(rows), caps.conflict_texts):
            row = rows[i]
            text = (
                f'<div class="txt">{shown(texts[row], caps.text)}</div>'
                if texts.get(row) is not None
                else '<span class="absent">text not in the audit JSON (it keeps the texts of the first 10 rows '
                "and of the first row of each label)</span>"
            )
            label = names[i] if i < len(names) else None
            cells.append([num(row), data_name(shown_label(label, label_names)) if label is not None else "–", text])
        out.append(table(["row", "label", "text"], cells, "conflict") + more(len(rows), caps.conflict_texts, "rows"))
    out.append(more(len(examples), caps.conflicts, "groups"))
    if not caps.examples:
        out.append(hidden_note())
    elif not with_texts:
        out.append('<p class="note">Texts are not in the audit JSON (<code>conflicts.examples[].texts</code>).</p>')
    return "".join(out)
