"""The template warning: when one long opening or ending (tool-use boilerplate, a system prompt)
or one near cluster holds a large share of the rows, near-duplicate counts measure the template,
not the content. The core measures the signal; this names the shared text and the columns that
`--text` could audit instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import defaults
from .._epochplan import Auditor, template_text
from .._epochplan import preview as core_preview
from ..errors import option
from ..sources import Source, preview_rows
from .near_warnings import VARYING_COLUMN
from .result import AuditWarning, ClusterStats, TemplateSignal

#: Characters of the shared text kept in the JSON and shown in the terminal.
SHOWN_CHARS = 200


def template_signal(auditor: Auditor, source: Source, columns: list[str], normalize: str, examples: bool = True) -> TemplateSignal | None:
    """The core's strongest template signal, with the text it names read back from the source
    (left empty without `examples`: no data text in the result)."""
    found = auditor.template_signal()
    if found is None:
        return None
    row = int(found["row"])
    raw = (preview_rows(source, columns, [row]).get(row) or "") if examples else ""
    if found["source"] == "near-cluster":
        text = core_preview(raw, normalize)
    else:
        text = template_text(raw, found["source"], int(found["chars"]), normalize)
    return TemplateSignal(
        source=found["source"],
        chars=found["chars"],
        templates=int(found["templates"]),
        count=int(found["count"]),
        rows=int(found["rows"]),
        share=float(found["share"]),
        row=row,
        text=text[:SHOWN_CHARS],
    )


#: A shared opening or ending drives the near-duplicate counts when the near audit merged (beyond
#: exact copies) at least this share of the rows that share it. A template that is most of each
#: text merges most of its rows (GPTeacher's toolformer prompts: 65 %); a footer under pages
#: that differ merges none of them (3,000 web pages with one 30-word footer: 0), and pages with
#: a few true near duplicates stay under it.
TEMPLATE_MERGED_SHARE = 0.2


def template_merged(count: int, near_duplicate_rows: int | None, exact_duplicate_rows: int) -> bool | None:
    """Whether the near audit merged the rows that share a template (`count` of them): True when
    its near-duplicate rows beyond the exact copies reach TEMPLATE_MERGED_SHARE of them, None when
    near duplicates were off (nothing to tell). `audit`'s warning and `check`'s template check
    both go by it."""
    if near_duplicate_rows is None:
        return None
    return near_duplicate_rows - exact_duplicate_rows >= TEMPLATE_MERGED_SHARE * count


def template_warnings(
    signal: TemplateSignal | None,
    other_columns: list[str],
    exact: ClusterStats | None = None,
    near: ClusterStats | None = None,
    values: Callable[[str], list[Any]] | None = None,
) -> list[AuditWarning]:
    """A `template` warning when the signal's share is over the core's TEMPLATE_SHARE: most rows.
    Exactly that share passes, as it passes `check`'s `template` budget of the same value (every
    budget passes at exactly its limit), so the two never disagree at the boundary. `exact` (the
    audit's exact clusters) tells a near cluster that is one text copied apart; `near` (None when
    near duplicates were off) whether the shared opening or ending merged its rows: pages that
    share a footer and nothing else are no near duplicates, and no warning. The columns offered
    instead are text (`text_alternatives`, by name and by `values`, a column's first values)."""
    if signal is None or signal.share <= defaults.TEMPLATE_SHARE:
        return []
    copies = _copies_of_one_text(signal, exact)
    if copies is not None:
        message = (
            f"{100 * copies / signal.rows:.0f} % of rows ({copies:,} of {signal.rows:,}) are copies of one text "
            "(one exact-duplicate cluster), so it dominates every count; deduplicate first (epochplan dedup)"
        )
        return [AuditWarning("template", message, signal.share, signal.text)]
    exact_rows = exact.duplicate_rows if exact is not None else 0
    near_rows = near.duplicate_rows if near is not None else None
    if signal.source != "near-cluster" and template_merged(signal.count, near_rows, exact_rows) is False:
        return []
    if signal.source == "near-cluster":
        what = "fall in one near-duplicate cluster"
    else:
        verb = "start" if signal.source == "prefix" else "end"
        what = (
            f"{verb} with the same {signal.chars} characters"
            if signal.templates == 1
            else f"{verb} with one of {signal.templates} shared {signal.chars}-character texts (the most common shown)"
        )
    alternatives = text_alternatives(other_columns, values)
    if alternatives:
        hint = f"audit {VARYING_COLUMN} ({', '.join(alternatives)})"
    else:  # no other text column: not an id, a url or a date to audit instead
        hint = "strip the shared text before auditing"
    # A prefix's or suffix's count is a lower bound (template.rs: a Misra-Gries summary, short
    # by at most 1/33 of the rows); a near cluster's is exact.
    lower_bound = signal.source != "near-cluster" and signal.count < signal.rows
    counted = f"{signal.count:,} of {signal.rows:,}" + (", or more" if lower_bound else "")
    message = (
        f"{100 * signal.share:.0f} % of rows ({counted}) {what}: a shared template, "
        f"so near-duplicate counts reflect the template more than the content; {hint}"
    )
    return [AuditWarning("template", message, signal.share, signal.text)]


def _copies_of_one_text(signal: TemplateSignal, exact: ClusterStats | None) -> int | None:
    """The rows of the exact cluster that explains the whole signal, if one does: the near
    cluster the signal names is that exact cluster, or (a long text copied: its opening is
    shared by as many rows as its copies, and ties go to the opening) the largest exact cluster
    holds at least the rows that share the opening or ending. None when a template spans
    texts that differ."""
    if exact is None or not exact.top:
        return None
    if signal.source == "near-cluster":
        return signal.count if any(t.row == signal.row and t.count == signal.count for t in exact.top) else None
    largest = max(t.count for t in exact.top)
    return largest if largest >= signal.count else None


#: Columns chosen automatically that hold half an example (the other half is elsewhere).
HALF_EXAMPLE = frozenset({"prompt", "instruction"})
#: Column names that hold part of an example (Alpaca, Dolly, SQuAD, preference and chat data).
EXAMPLE_PARTS = frozenset(
    {"input", "output", "response", "completion", "answer", "answers", "context", "question", "chosen", "rejected", "system"} | HALF_EXAMPLE
)
#: Other columns a `text-column` warning names (the JSON's `source` has the audited ones).
NAMED_COLUMNS = 6


def _is_id(name: str) -> bool:
    lowered = name.lower()
    return lowered in ("id", "uuid", "idx", "index", "hash", "key") or lowered.endswith(("_id", "-id", "_uuid", "_hash"))


#: Names of columns that describe a row rather than hold its text (web crawls' url, date, dump,
#: file_path, language; hashes, licences): never the text to audit instead.
METADATA_NAMES = frozenset(
    {
        "url", "uri", "link", "links", "date", "time", "timestamp", "datetime", "created", "updated", "path", "file",
        "filename", "file_name", "file_path", "filepath", "language", "lang", "locale", "dump", "crawl", "domain", "host",
        "license", "licence", "sha", "sha1", "sha256", "md5", "digest", "checksum", "split", "version", "mime", "mimetype",
        "content_type", "encoding", "warc_record_id", "warc_date", "segment",
    }
)  # fmt: skip
METADATA_ENDINGS = ("_url", "_uri", "_link", "_date", "_time", "_at", "_path", "_file", "_lang", "_language", "_timestamp", "_sha", "_md5")


def metadata_name(name: str) -> bool:
    """Whether a column's name is an identifier's or metadata's (`_is_id`, METADATA_NAMES,
    METADATA_ENDINGS)."""
    lowered = name.lower()
    return _is_id(name) or lowered in METADATA_NAMES or lowered.endswith(METADATA_ENDINGS)


def is_metadata(name: str, values: list[Any]) -> bool:
    """Whether a string column is an identifier or metadata, not text: by its name (`_is_id`,
    METADATA_NAMES, METADATA_ENDINGS), or by its first `values` when every one is ASCII without
    a space (ids, urls, dates, paths, language codes, hashes, numbers written as strings; text in
    a script written without spaces is not ASCII)."""
    if metadata_name(name):
        return True
    strings = [v for v in values if isinstance(v, str)]
    return bool(strings) and all(v.isascii() and not any(c.isspace() for c in v.strip()) for v in strings)


def text_alternatives(columns: list[str], values: Callable[[str], list[Any]] | None = None) -> list[str]:
    """The `columns` that hold text another audit could compare (`question` beside `context`),
    not identifiers or metadata (`is_metadata`); `values` gives a column's first values."""
    return [c for c in columns if not is_metadata(c, values(c) if values is not None else [])]


def text_column_warning(columns: list[str], others: list[str]) -> AuditWarning | None:
    """A `text-column` warning when the audited column was chosen automatically (no --text) and
    the input has other columns holding part of each example: Alpaca-shaped data (instruction,
    input, output) audited on `instruction` alone counts rows that share an instruction as
    duplicates, whatever their input and output, and `dedup` drops them. Id columns, and
    metadata beside a column that holds whole examples (`text`, `messages`: an id, a role, a
    language), are no reason to warn."""
    others = [c for c in others if not _is_id(c)]
    parts = [c for c in others if c.lower() in EXAMPLE_PARTS]
    if not parts and not (others and columns[0].lower() in HALF_EXAMPLE):
        return None
    shown = others[:NAMED_COLUMNS]
    more = f" and {len(others) - len(shown)} more" if len(others) > len(shown) else ""
    flags = option("--text", [*columns, *(parts or others)[:NAMED_COLUMNS]])
    message = (
        f"audited column {', '.join(repr(c) for c in columns)} (chosen automatically); the input also has "
        f"{', '.join(shown)}{more}: rows that differ only there count as duplicates. To audit whole examples, pass {flags}"
    )
    return AuditWarning("text-column", message, 1.0, "")
