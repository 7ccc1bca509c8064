"""Inline SVG charts for the HTML report: histograms, horizontal bars and line charts.

Written by hand rather than with a plotting library because the report is one offline file under
1 MB: two histograms as hand-written inline SVG measured 10.7 KB, where plotly's inline bundle is
4.9 MB and an altair chart 1.35 MB, and both need JavaScript to draw at all. Colours come from the
page's CSS classes (`bar`, `line`, `mark`, ...), so dark mode and print restyle the charts too.
Every mark carries the numbers it shows in data-* attributes, and each chart states its scale
(`data-scale`, `data-domain`, `data-plot-height`), so a test can check a drawing against its data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import graphemes
from .text import plain, visible_unsafe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 14, 44
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def number(value: float) -> str:
    """A short axis label: 950, 1.2k, 3.4M, 0.25."""
    value = float(value)
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def _f(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


class Scale:
    """Data value -> pixel offset in [0, span], linear or log10."""

    def __init__(self, lo: float, hi: float, span: float, log: bool = False) -> None:
        if log and lo <= 0:
            raise ValueError("a log scale needs a positive lower bound")
        if hi <= lo:
            hi = lo + 1
        self.lo, self.hi, self.span, self.log = lo, hi, span, log

    def __call__(self, value: float) -> float:
        value = min(max(value, self.lo), self.hi)
        if self.log:
            share = math.log10(value / self.lo) / math.log10(self.hi / self.lo)
        else:
            share = (value - self.lo) / (self.hi - self.lo)
        return share * self.span

    def ticks(self) -> list[float]:
        if self.log:
            first, last = math.ceil(math.log10(self.lo) - 1e-9), math.floor(math.log10(self.hi) + 1e-9)
            step = max(1, math.ceil((last - first + 1) / 6))
            return [10.0**k for k in range(first, last + 1, step)]
        raw = (self.hi - self.lo) / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        start = math.ceil(self.lo / step) * step
        return [start + i * step for i in range(int((self.hi - start) / step + 1e-9) + 1)]

    def attrs(self) -> str:
        return f'data-scale="{"log" if self.log else "linear"}" data-domain="{self.lo!r} {self.hi!r}"'


def _frame(kind: str, label: str, body: list[str], extra: str = "", height: float = HEIGHT, plot_height: float = PLOT_H) -> str:
    return (
        f'<svg class="chart" data-kind="{kind}" viewBox="0 0 {WIDTH} {_f(height)}" role="img" '
        f'aria-label="{plain(label, 200)}" data-plot-height="{_f(plot_height)}" {extra}>'
        f"<title>{plain(label, 200)}</title>" + "".join(body) + "</svg>"
    )


def _y_axis(scale: Scale, label: str) -> list[str]:
    out = [f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}"/>']
    for tick in scale.ticks():
        y = TOP + PLOT_H - scale(tick)
        out.append(f'<line class="grid" x1="{LEFT}" y1="{_f(y)}" x2="{LEFT + PLOT_W}" y2="{_f(y)}"/>')
        out.append(f'<text class="tick" x="{LEFT - 5}" y="{_f(y + 4)}" text-anchor="end">{number(tick)}</text>')
    out.append(
        f'<text class="label" transform="translate(13 {TOP + PLOT_H / 2}) rotate(-90)" text-anchor="middle">{plain(label, 60)}</text>'
    )
    return out


def _x_label(label: str) -> str:
    return f'<text class="label" x="{LEFT + PLOT_W / 2}" y="{HEIGHT - 6}" text-anchor="middle">{plain(label, 90)}</text>'


def histogram(
    bins: Sequence[tuple[float, float, int]],
    *,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    markers: Sequence[tuple[float, str]] = (),
) -> str:
    """Bars of equal width, one per bin [lo, hi), labelled by their range; with bins that grow
    geometrically this is a log x axis. A marker (value, label) is a vertical line placed inside its
    bin by linear interpolation, at the right edge past the last bin."""
    top = max((count for _, _, count in bins), default=1) or 1
    if log_y:
        scale = Scale(0.5, 10.0 ** math.ceil(math.log10(top) - 1e-9) if top > 1 else 10.0, PLOT_H, log=True)
    else:
        scale = Scale(0, top, PLOT_H)
    body = _y_axis(scale, y_label)
    width = PLOT_W / max(len(bins), 1)
    spans = [_bin_span(lo, hi) for lo, hi, _ in bins]
    labelled = _labelled_bins(spans, width)
    for i, (lo, hi, count) in enumerate(bins):
        height = scale(count) if count > 0 else 0.0
        x = LEFT + i * width
        span = spans[i]
        body.append(
            f'<rect class="bar" x="{_f(x + 1)}" y="{_f(TOP + PLOT_H - height)}" width="{_f(max(width - 2, 1))}" '
            f'height="{_f(height)}" data-lo="{lo!r}" data-hi="{hi!r}" data-count="{count}">'
            f"<title>{span}: {count:,}</title></rect>"
        )
        if i in labelled:
            body.append(labelled[i])
    body.append(f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}"/>')
    for value, label in markers:
        body.append(_bin_marker(bins, width, value, label))
    body.append(_x_label(x_label))
    return _frame("histogram", f"{y_label} by {x_label}", body, scale.attrs())


#: Width of a digit of the 11px tick font, generous (system-ui digits are about 6.1px).
TICK_CHAR = 6.6


def _tick_width(label: str) -> float:
    return TICK_CHAR * len(label)


def _labelled_bins(spans: Sequence[str], width: float) -> dict[int, str]:
    """The range labels under the bars, bin → `<text>`: at most one in `every` bins, counted from
    the last (the largest bin is always named), as many as fit side by side without touching; each
    centred under its bar, moved inside the picture where it would run past an edge (the last
    one was clipped), and the next bin down tried where that move would make it touch its neighbour."""
    gap = 8.0
    every = max(1, math.ceil((max((_tick_width(s) for s in spans), default=0.0) + gap) / width))
    out: dict[int, str] = {}
    right_free = math.inf
    last = len(spans) + every
    for i in range(len(spans) - 1, -1, -1):
        if last - i < every:
            continue
        centre, size = LEFT + (i + 0.5) * width, _tick_width(spans[i])
        x, anchor, left = centre, "middle", centre - size / 2
        if centre + size / 2 > WIDTH - 2:
            x, anchor, left = WIDTH - 2, "end", WIDTH - 2 - size
        elif left < 2:
            x, anchor, left = 2, "start", 2
        if left + size + gap > right_free:
            continue
        out[i] = f'<text class="tick" x="{_f(x)}" y="{TOP + PLOT_H + 14}" text-anchor="{anchor}">{spans[i]}</text>'
        right_free, last = left, i
    return out


def _bin_span(lo: float, hi: float) -> str:
    """A bin's label, in one format on every bin: "2–3" for [2, 4) in whole numbers written out
    ("512–1,023", where "512–1.02k" read as ending near 1,020; "16,384–32,767", where "8.19k"
    stood beside "2,049"). Labels that would touch are thinned, not shortened."""
    if not float(lo).is_integer() or not float(hi).is_integer():
        return number(lo) if hi - lo <= 1 else f"{number(lo)}–{number(hi)}"
    if hi - lo <= 1:
        return f"{int(lo):,}"
    return f"{int(lo):,}–{int(hi - 1):,}"


def _bin_marker(bins: Sequence[tuple[float, float, int]], width: float, value: float, label: str) -> str:
    position = float(len(bins))
    for i, (lo, hi, _) in enumerate(bins):
        if value < hi:
            position = i + max(0.0, (value - lo) / (hi - lo))
            break
    x = LEFT + position * width
    anchor = "end" if position > len(bins) * 0.7 else "start"
    dx = -4 if anchor == "end" else 4
    return (
        f'<g class="mark" data-value="{value!r}"><line x1="{_f(x)}" y1="{TOP}" x2="{_f(x)}" y2="{TOP + PLOT_H}"/>'
        # Above the plot, where no bar reaches (inside it, the tallest bar ran under the label).
        f'<text x="{_f(x + dx)}" y="{TOP - 3}" text-anchor="{anchor}">{plain(label, 60)}</text></g>'
    )


#: Width, in ems of the 11px tick font, that a bar's label has left of the axis (144px).
LABEL_EMS = 12.5


def _fit(label: str, ems: float) -> str:
    """`label` cut (with "…") to at most about `ems` wide, by generous widths of system-ui
    letters: a wide (CJK) character one em, M and W 0.95, other capitals 0.75, the rest 0.6. A
    label wider than the room the axis leaves ran past the picture's left edge and lost its first
    letters."""
    import unicodedata

    def width(c: str) -> float:
        if unicodedata.east_asian_width(c) in "WF":
            return 1.0
        return 0.95 if c in "MWmw@%" else 0.75 if c.isupper() else 0.6

    used, size = 0.0, 0
    for size, c in enumerate(label):
        used += width(c)
        if used > ems:
            break
    else:
        return label
    while size > 1 and used + width("…") > ems:  # room for the ellipsis
        size -= 1
        used -= width(label[size])
    return graphemes.cut(label, size + 1, "…")


def hbars(
    items: Sequence[tuple[str, float]],
    *,
    x_label: str,
    log_x: bool = False,
    marker: tuple[float, str] | None = None,
    rest: tuple[str, str] | None = None,
) -> str:
    """One horizontal bar per (label, value), labels on the left, in the order given. `rest`
    (label, text) is a last row written as text, with no bar: a total of what the bars leave out
    (the other classes), which as a bar would set the scale and squeeze the named bars."""
    row = 20
    height = TOP + BOTTOM + row * (max(len(items), 1) + (rest is not None))
    left = 150
    span = WIDTH - left - RIGHT
    top = max([v for _, v in items] + [marker[0] if marker else 0] + [1])
    scale = Scale(1 if log_x else 0, top, span, log=log_x)
    body = [f'<line class="axis" x1="{left}" y1="{TOP}" x2="{left}" y2="{height - BOTTOM}"/>']
    for tick in scale.ticks():
        x = left + scale(tick)
        body.append(f'<line class="grid" x1="{_f(x)}" y1="{TOP}" x2="{_f(x)}" y2="{height - BOTTOM}"/>')
        body.append(f'<text class="tick" x="{_f(x)}" y="{height - BOTTOM + 14}" text-anchor="middle">{number(tick)}</text>')
    for i, (label, value) in enumerate(items):
        y = TOP + i * row
        length = scale(value) if value > 0 and (not log_x or value >= 1) else 0.0
        body.append(
            # Fitted as drawn: a control or bidi character is drawn as its 4-6 character escape.
            f'<text class="tick" x="{left - 6}" y="{y + 14}" text-anchor="end">{plain(_fit(visible_unsafe(str(label)), LABEL_EMS))}</text>'
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{_f(length)}" height="{row - 6}" '
            f'data-label="{plain(label, 100)}" data-value="{value!r}"><title>{plain(label, 100)}: {number(value)}</title></rect>'
        )
    if rest is not None:
        y = TOP + len(items) * row
        body.append(
            f'<g class="rest"><text class="tick" x="{left - 6}" y="{y + 14}" text-anchor="end">{plain(_fit(visible_unsafe(rest[0]), LABEL_EMS))}</text>'
            f'<text class="tick" x="{left + 6}" y="{y + 14}">{plain(rest[1], 90)}</text></g>'
        )
    if marker is not None:
        x = left + scale(marker[0])
        body.append(
            f'<g class="mark" data-value="{marker[0]!r}"><line x1="{_f(x)}" y1="{TOP}" x2="{_f(x)}" y2="{height - BOTTOM}"/>'
            f'<text x="{_f(x - 4)}" y="{height - BOTTOM - 4}" text-anchor="end">{plain(marker[1], 60)}</text></g>'
        )
    body.append(f'<text class="label" x="{left + span / 2}" y="{height - 6}" text-anchor="middle">{plain(x_label, 90)}</text>')
    return _frame("hbars", x_label, body, f'{scale.attrs()} data-plot-width="{span}"', height=height, plot_height=height - TOP - BOTTOM)


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[float, float]], str]],
    *,
    x_domain: tuple[float, float],
    y_domain: tuple[float, float],
    x_label: str,
    y_label: str,
    bands: Sequence[tuple[float, float, str]] = (),
    vlines: Sequence[tuple[float, str]] = (),
    points: Sequence[tuple[float, float, str]] = (),
) -> str:
    """Polylines (name, [(x, y)], css class) on linear axes; `bands` shade [x0, x1) with a label,
    `vlines` mark x positions, `points` mark (x, y) with a label."""
    xs = Scale(*x_domain, PLOT_W)
    ys = Scale(*y_domain, PLOT_H)
    body = _y_axis(ys, y_label)
    for x0, x1, _ in bands:
        a, b = LEFT + xs(x0), LEFT + xs(x1)
        body.append(
            f'<rect class="band" x="{_f(a)}" y="{TOP}" width="{_f(max(b - a, 0.5))}" height="{PLOT_H}" data-x0="{x0!r}" data-x1="{x1!r}"/>'
        )
    for tick in xs.ticks():
        x = LEFT + xs(tick)
        body.append(f'<text class="tick" x="{_f(x)}" y="{TOP + PLOT_H + 14}" text-anchor="middle">{number(tick)}</text>')
    body.append(f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}"/>')
    for x, label in vlines:  # labels sit above the plot, where no line can run through them
        px = LEFT + xs(x)
        body.append(
            f'<g class="vline" data-x="{x!r}"><line x1="{_f(px)}" y1="{TOP}" x2="{_f(px)}" y2="{TOP + PLOT_H}"/>'
            + (f'<text x="{_f(px)}" y="{TOP - 3}" text-anchor="middle">{plain(label, 20)}</text>' if label else "")
            + "</g>"
        )
    for name, coords, css in series:
        path = " ".join(f"{_f(LEFT + xs(x))},{_f(TOP + PLOT_H - ys(y))}" for x, y in coords)
        body.append(f'<polyline class="line {css}" data-series="{plain(name, 60)}" points="{path}"/>')
    for x, y, _ in points:
        body.append(f'<circle class="point" cx="{_f(LEFT + xs(x))}" cy="{_f(TOP + PLOT_H - ys(y))}" r="4" data-x="{x!r}" data-y="{y!r}"/>')
    # Labels of lines, bands and points go in one legend under the chart, so that no label is ever
    # drawn across a line whatever the data.
    entries = [(f'<line class="line {css}" x1="0" y1="6" x2="18" y2="6"/>', name) for name, _, css in series]
    entries += [('<rect class="band" x="0" y="0" width="18" height="12"/>', label) for _, _, label in bands]
    entries += [('<circle class="point" cx="9" cy="6" r="4"/>', label) for _, _, label in points]
    x, y = LEFT, HEIGHT + 2
    for swatch, label in entries:
        width = 34 + 6.6 * len(label[:48])
        if x + width > WIDTH and x > LEFT:
            x, y = LEFT, y + 18
        body.append(f'<g class="legend" transform="translate({_f(x)} {y})">{swatch}<text x="24" y="10">{plain(label, 48)}</text></g>')
        x += width
    height = y + 20 if entries else HEIGHT
    body.append(_x_label(x_label))
    return _frame("line", f"{y_label} over {x_label}", body, f'{xs.attrs()} data-y-domain="{ys.lo!r} {ys.hi!r}"', height=height)
