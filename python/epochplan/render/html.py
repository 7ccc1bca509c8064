"""One self-contained HTML report from the audit, plan and check JSON: `render_html(audit, plan, check)`.

The page is offline and inert: inline CSS and inline SVG, no script, no external resource of any
kind (a Content-Security-Policy of `default-src 'none'` makes the browser refuse one should it ever
appear), light and dark colours, printable, under 1 MB whatever the dataset's size. Sections, each
with a stable id: `summary`, `duplicates`, `lengths`, `labels`, `leakage`, `plan`, and `checks` when
a check report is given. A section without data says why.

Keys read beyond the counts (all optional; the report says what is missing). The audit writes
them (README: "Example texts"); `--no-examples` leaves every text key out, and
`render_html(examples=False)` shows none of them even when present (nor `top[].preview` nor any
check's examples). Names stay: label values (the class-count axis), eval split names, column names
and input paths. "Text" is the text as read (the joined text columns, before normalisation), cut
to its first 2000 characters; a cut text ends with "…".

Example texts
- `exact.top[i].text`: str, the representative's text (top keeps its 10 largest clusters).
- `exact.top[i].members`: [{"row": int, "text": str}], up to 5 other members, lowest rows first.
- `near.top[i].text`: str, as for exact.
- `near.top[i].members`: [{"row": int, "text": str, "similarity": float}], up to 5 other members,
  least similar to the representative first (ties: lowest row) when the core gives a similarity
  per row; `similarity` as in the clusters file's `similarity` column.
- `leakage.NAME.examples[i].eval_text` / `.train_text`: str, the eval row and the train row it
  matched (the 10 examples kept).
- `conflicts.examples[i].texts`: [str], parallel to `rows` and `labels` (the first 10 rows).
- `conflicts.examples[i].first_of_label`: [{"row": int, "label": str, "text": str}], the first row
  of each of the group's first 10 labels: the rows the page shows first, with their text.
- `warnings[i].text` (the template warning's shared text).

Histograms (bounded size at any row count)
- `exact.size_histogram` / `near.size_histogram`: [[size, clusters], ...], every cluster size that
  occurs, including 1 (texts without a duplicate), ascending; sum(size × clusters) = non-null rows.
  Drawn in power-of-two size bins on log axes.
- `lengths.chars.histogram` / `lengths.words.histogram` / `lengths.tokens.histogram`:
  [[lo, hi, count], ...], contiguous ascending bins, `count` non-null texts with lo ≤ length < hi;
  suggested bins [0, 1), [1, 2), [2, 4), [4, 8) ... up to the maximum. Drawn one equal-width bar
  per bin. Without them the lengths are drawn as quantile bars (mean, p50, p90, p99, max).
- `lengths.tokens` = {mean, p50, p90, p99, max, total, estimated, tokenizer} and
  `exact.unique_tokens` / `near.unique_tokens` (token counts); `near.clustering`, `near.verify`,
  `near.char_ngram` (near settings); `warnings` [{id, message, share, text}]. From the plan:
  `seq_len` (marked on token lengths), `truncated_samples`, `truncated_tokens`.

Even with these caps, hostile text (markup that escapes to 4–6 times its size, control characters
shown as escapes) could pass the budget, so the page is rendered with smaller and smaller example
caps until it fits; the last step shows no example text at all and is small by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import graphemes
from ..defaults import AUDIT_SCHEMA
from ..errors import InputError, secrets_masked
from . import check_section, labels_section, sections
from .blocks import NAME_CHARS, Caps, data_name
from .plan_section import plan as plan_section
from .text import plain

MAX_BYTES = 1_000_000
BUDGET_BYTES = 900_000  # what the fitting aims for, leaving room below MAX_BYTES
SHRINKING_CAPS = (
    Caps(examples=True),
    Caps(examples=True, text=400, members=2, leaks=6, conflicts=4, conflict_texts=3),
    Caps(examples=True, text=150, clusters=3, members=1, leaks=3, conflicts=2, conflict_texts=2),
    Caps(examples=True, text=40, clusters=2, members=1, leaks=2, conflicts=1, conflict_texts=1),
)
NO_EXAMPLES = Caps(examples=False)
# Without examples only names from the data are left (labels, splits, paths, quoted in messages):
# shorter messages and lists bound the page whatever those names are.
FLOOR = Caps(examples=False, message=100, items=5, checks=100)

# A cell breaks a long unbroken name (a split, a label, a check id) anywhere rather than run off the
# page; the cells that hold only our short words and numbers (a status, a count, a plan field) do
# not break, or a wide neighbour would squeeze them to a letter a line.
CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#5b6577;--line:#d5dae3;--panel:#f5f7fa;
--accent:#2f6fde;--accent2:#d9480f;--band:rgba(47,111,222,.12);--ins:#c9f0d1;--del:#ffd6d6;--warn:#fff4d6;--bad:#c92a2a;--good:#2b8a3e}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--fg:#e3e7ee;--muted:#9aa4b5;--line:#343b47;--panel:#1d2128;
--accent:#6ea1ff;--accent2:#ff8a4c;--band:rgba(110,161,255,.16);--ins:#1f4d2b;--del:#5c2323;--warn:#3d3418;--bad:#ff6b6b;--good:#69db7c}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 20px}
header{padding-top:18px}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.25em;border-bottom:1px solid var(--line);padding-bottom:.2em;margin-top:1.8em}
h3{font-size:1.05em;margin:1.3em 0 .4em}h4{font-size:.95em;margin:1em 0 .3em}h1,h2,h3,h4,code{overflow-wrap:anywhere}
nav{display:flex;flex-wrap:wrap;gap:0 .9em}nav a{color:var(--accent)}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(210px,100%),1fr));gap:8px;margin:.6em 0}
.facts div{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 10px}
.facts dt{color:var(--muted);font-size:.8em}.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}
th,td{border:1px solid var(--line);padding:4px 7px;text-align:left;vertical-align:top}th{background:var(--panel)}
td{overflow-wrap:anywhere}.status,table.num td+td,table.budget td:nth-child(-n+2),table.conflict td:first-child{white-space:nowrap}
table.num td+td{text-align:right;font-variant-numeric:tabular-nums}
table.pairs td:nth-child(1),table.pairs td:nth-child(2){width:44%}table.pairs td:nth-child(3){width:12%}
.txt{white-space:pre-wrap;unicode-bidi:plaintext;text-align:start;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;
background:var(--panel);border-radius:4px;padding:4px 6px}
.rowno,.source,.more,.note,figcaption,small{color:var(--muted);font-size:.82em}
ins{background:var(--ins);text-decoration:none}del{background:var(--del)}
.ctl{border:1px solid var(--muted);border-radius:3px;padding:0 2px;font-size:.85em}
.absent{color:var(--muted);font-style:italic}.cluster{margin:.6em 0 1em}.cluster-head{margin:.2em 0;font-weight:600}
ul.warnings li{background:var(--warn);border-radius:4px;padding:4px 8px;margin:4px 0;list-style:none;overflow-wrap:anywhere}
ul.warnings{padding:0}.verdict.fail strong,.status.error{color:var(--bad)}.verdict.pass strong,.status.pass{color:var(--good)}
figure{margin:.8em 0;break-inside:avoid}svg.chart{width:100%;max-width:760px;height:auto;display:block}
svg text{fill:var(--fg);font-size:11px}svg .label{fill:var(--muted);font-size:12px}
svg .axis{stroke:var(--muted)}svg .grid{stroke:var(--line);stroke-dasharray:2 3}svg .bar{fill:var(--accent)}
svg .line{fill:none;stroke:var(--accent);stroke-width:2}svg .line.dashed{stroke:var(--accent2);stroke-dasharray:6 4}
svg .mark line,svg .vline line{stroke:var(--accent2);stroke-width:1.5}svg .vline line{stroke-dasharray:3 3;stroke-width:1}
svg .band{fill:var(--band)}svg .legend .band{stroke:var(--accent);stroke-width:.5}svg .point{fill:var(--accent2)}svg .mark text,svg .vline text{fill:var(--accent2)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%),1fr));gap:0 24px}.facts dd small{font-weight:400}
footer{color:var(--muted);font-size:.8em;padding:2em 20px}
@media (max-width:480px){header,main,footer{padding-left:10px;padding-right:10px}table.budget td:nth-child(-n+2){white-space:normal}}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--line:#bbb;--panel:#f3f3f3;--warn:#fff4d6}
nav{display:none}body{font-size:11pt}section{break-before:auto}tr,.cluster,figure{break-inside:avoid}h2,h3{break-after:avoid}}
"""


def render_html(
    audit: Mapping[str, Any] | None, plan: Mapping[str, Any] | None = None, check: Mapping[str, Any] | None = None, *, examples: bool = True
) -> str:
    """The report as one HTML page. `audit` is an `epochplan.audit/1` dict (None takes the one
    inside `check`); `plan` an `epochplan.plan/1` dict (None takes the audit's own `plan`);
    `check` an `epochplan.check/1` dict. `examples=False` keeps every text from the data out."""
    # A URL's secrets masked whoever wrote the JSON (an older version wrote them out).
    audit, plan, check = secrets_masked(audit), secrets_masked(plan), secrets_masked(check)
    if audit is None and isinstance(check, Mapping):
        audit = check.get("audit")
    if not isinstance(audit, Mapping) or audit.get("schema") != AUDIT_SCHEMA:
        found = audit.get("schema") if isinstance(audit, Mapping) else type(audit).__name__
        raise InputError(
            f"report: expected an audit with schema {AUDIT_SCHEMA!r}, got {found!r}; pass the JSON written by `epochplan audit --json`"
        )
    if plan is None and isinstance(audit.get("plan"), Mapping):
        plan = audit["plan"]
    audit = splits_by_name(audit)
    for caps in SHRINKING_CAPS if examples else ():
        page = _page(audit, plan, check, caps)
        if len(page.encode("utf-8")) <= BUDGET_BYTES:
            return page
    page = _page(audit, plan, check, NO_EXAMPLES, squeezed=examples)
    if len(page.encode("utf-8")) <= BUDGET_BYTES:
        return page
    return _page(audit, plan, check, FLOOR, squeezed=examples)


def _page(
    audit: Mapping[str, Any], plan: Mapping[str, Any] | None, check: Mapping[str, Any] | None, caps: Caps, squeezed: bool = False
) -> str:
    body = [
        sections.summary(audit, plan, check, caps),
        sections.duplicates(audit, caps),
        sections.lengths(audit, plan),
        labels_section.labels(audit, caps),
        sections.leakage(audit, caps),
        plan_section(plan, caps, audit.get("plan_skipped")),
    ]
    ids = ["summary", "duplicates", "lengths", "labels", "leakage", "plan"]
    if isinstance(check, Mapping):
        body.append(check_section.checks(check, caps))
        ids.append("checks")
    paths = (audit.get("source") or {}).get("paths") or []
    title = plain(graphemes.cut_middle(str(paths[0]), NAME_CHARS)) if paths else "data"
    heading = data_name(paths[0]) if paths else "data"
    if len(paths) > 1:
        title += f" and {len(paths) - 1:,} more"
        heading += f" and {len(paths) - 1:,} more"
    if squeezed:
        body.insert(0, '<p class="note">Example texts were left out to keep this page under 1 MB.</p>')
    nav = " ".join(f'<a href="#{i}">{i}</a>' for i in ids)  # spaced: the links wrap in a narrow window
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="color-scheme" content="light dark">'
        f"<title>epochplan report: {title}</title><style>{CSS}</style></head><body>"
        f"<header><h1>epochplan report: {heading}</h1><nav>{nav}</nav></header><main>{''.join(body)}</main>"
        f"<footer>epochplan {plain(_version(), 40)} · audit schema {plain(audit.get('schema'), 40)}"
        + ("" if caps.examples else " · example texts left out")
        + "</footer></body></html>\n"
    )


def splits_by_name(audit: Mapping[str, Any]) -> Mapping[str, Any]:
    """The audit with its eval splits in name order, as its JSON file has them (written with
    sorted keys): `audit --html` renders the result in memory, `report audit.json` the file, and
    the two pages must be the same."""
    leakage = audit.get("leakage")
    if not isinstance(leakage, Mapping):
        return audit
    return {**audit, "leakage": {name: leakage[name] for name in sorted(leakage)}}


def _version() -> str:
    try:
        from .. import __version__
    except ImportError:  # the extension is not built: the report needs none of it
        return "unknown"
    return str(__version__)
