"""The plan section of the HTML report: the step budget with each number's reason, where the
planned epochs sit on the repetition-value curve, and the learning-rate schedule over the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..planning.rules import R_STAR, effective_data_ratio
from ..planning.schedule import lr_multiplier
from . import svg
from .blocks import Caps, absent, code, dl, figure, num, plural, section, table
from .text import plain

SCHEDULE_POINTS = 400  # points per drawn schedule line: enough to look smooth, few bytes at any total_steps
EPOCH_LINES = 60  # epoch boundaries drawn; past this they would be a grey wash


def plan(plan: Mapping[str, Any] | None, caps: Caps, skipped: Any = None) -> str:
    """The plan section; `skipped`: the audit's reason for having no plan (`plan_skipped`)."""
    if not isinstance(plan, Mapping) or plan.get("total_steps") is None:
        if isinstance(skipped, str) and skipped:
            why = f"No plan: {plain(skipped)}."
        else:
            why = (
                "No plan: the audit JSON has no <code>plan</code> and none was given "
                "(<code>epochplan plan --audit audit.json -o plan.json</code>)."
            )
        return section("plan", "Plan", [absent(why)])
    epochs = plan.get("epochs") or {}
    body = [
        dl(
            [
                ("regime", code(plan.get("regime"))),
                ("framework rounding", code(plan.get("framework"))),
                (
                    "epochs min / recommended / max",
                    f"{num(epochs.get('min'))} / {num(epochs.get('recommended'))} / {num(epochs.get('max'))}",
                ),
                ("epochs planned", num(epochs.get("planned"))),
                ("total steps", num(plan.get("total_steps"))),
                ("warm-up steps", num(plan.get("warmup_steps"))),
                ("global batch", num(plan.get("global_batch_size"))),
            ]
        )
    ]
    body.append("<h3>Step budget</h3>" + _budget(plan, caps))
    body.append("<h3>Value of repeated data</h3>" + _repetition(plan))
    body.append("<h3>Learning-rate schedule</h3>" + _schedule(plan))
    return section("plan", "Plan", body)


def _value(plan: Mapping[str, Any], field: str) -> str:
    value: Any = plan
    for key in field.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    if field == "epochs" and isinstance(value, Mapping):
        return f"{num(value.get('recommended'))} ({num(value.get('min'))}–{num(value.get('max'))})"
    if isinstance(value, (Mapping, list)):  # a table of numbers (exposure): its reason says what they are
        return "see reason"
    return num(value)


def _budget(plan: Mapping[str, Any], caps: Caps) -> str:
    rows = []
    for entry in (plan.get("rationale") or [])[: 3 * caps.items]:
        if not isinstance(entry, Mapping):
            continue
        field = str(entry.get("field", ""))
        rows.append(
            [
                code(field),
                _value(plan, field),
                plain(entry.get("detail", ""), caps.message),
                plain(entry.get("rule", ""), caps.message) + f'<div class="source">{plain(entry.get("source", ""), caps.message)}</div>',
            ]
        )
    if not rows:
        return absent("The plan carries no rationale.")
    return table(["number", "value", "how", "rule and source"], rows, "budget")


def _repetition(plan: Mapping[str, Any]) -> str:
    epochs = plan.get("epochs") or {}
    planned = epochs.get("planned") or epochs.get("recommended")
    if not isinstance(planned, (int, float)) or planned <= 0:
        return absent("The plan has no planned epochs.")
    top = max(40.0, float(epochs.get("max") or 0), float(planned)) * 1.02
    curve = [(e, effective_data_ratio(e)) for e in (top * i / 200 for i in range(201))]
    ratio = effective_data_ratio(float(planned))
    y_top = max(20.0, ratio * 1.1)
    fresh = [(0.0, 0.0), (min(top, y_top), min(top, y_top))]  # D'/U = E would be fresh data every epoch
    bands = []
    if isinstance(epochs.get("min"), (int, float)) and isinstance(epochs.get("max"), (int, float)):
        bands.append((float(epochs["min"]), float(epochs["max"]), f"recommended range {num(epochs['min'])}–{num(epochs['max'])} epochs"))
    chart = svg.line_chart(
        [("D′/U, repeated data", curve, "main"), ("fresh data", fresh, "dashed")],
        x_domain=(0.0, top),
        y_domain=(0.0, y_top),
        x_label="epochs",
        y_label="D′ / U",
        bands=bands,
        points=[(float(planned), ratio, f"planned: {num(float(planned))} {plural('epoch', planned)} → D′/U {ratio:.2f}")],
    )
    return figure(
        chart,
        f"D′ = U + U·R*·(1 − e<sup>−R/R*</sup>), R = epochs − 1, R* = {R_STAR} (Muennighoff et al. 2023): "
        "what E epochs over U unique tokens are worth in fresh tokens. About 4 epochs are nearly as good "
        "as fresh data; past about 40 more repetition adds almost nothing.",
    )


def _schedule(plan: Mapping[str, Any]) -> str:
    total, warmup = plan.get("total_steps"), plan.get("warmup_steps") or 0
    if not isinstance(total, int) or total < 1 or not isinstance(warmup, int) or not 0 <= warmup < total:
        return absent("The plan's total_steps / warmup_steps do not describe a schedule.")
    steps = sorted({round(total * i / SCHEDULE_POINTS) for i in range(SCHEDULE_POINTS + 1)} | {warmup})
    series = [
        (
            f"{kind} (build_scheduler kind='{kind}')",
            [(s, lr_multiplier(s, total, warmup, kind)) for s in steps],
            "main" if kind == "linear" else "dashed",
        )
        for kind in ("linear", "cosine")
    ]
    per_epoch = plan.get("steps_per_epoch")
    lines = []
    if isinstance(per_epoch, int) and per_epoch > 0:
        # Counted, not listed: a plan of 10⁹ one-step epochs has 10⁹ boundaries, and none is drawn.
        count = (total - 1) // per_epoch  # per_epoch, 2·per_epoch, … below total
        if count <= EPOCH_LINES:
            lines = [(per_epoch * (i + 1), f"e{i + 1}" if count <= 12 else "") for i in range(count)]
    chart = svg.line_chart(
        series,
        x_domain=(0.0, float(total)),
        y_domain=(0.0, 1.0),
        x_label="optimizer step",
        y_label="LR / peak LR",
        bands=[(0.0, float(warmup), f"warm-up: {warmup:,} steps")] if warmup else [],
        vlines=lines,
    )
    note = f"{total:,} optimizer steps, {warmup:,} of warm-up"
    if isinstance(per_epoch, int):
        note += f", epoch boundaries every {per_epoch:,} steps" + ("" if lines or per_epoch >= total else " (too many to draw)")
    return figure(chart, f"{note}. The values <code>epochplan.torch.build_scheduler</code> steps through (one call per optimizer step).")
