"""Run an audit: stream the text column of a source through the Rust core, build the result.

Train rows go through the core once (exact clusters, statistics, near-duplicate sketches); each
eval split is then streamed through the same indexes without being added to them (leakage)."""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack

import numpy as np
import polars as pl

from .. import defaults
from .._epochplan import Auditor
from ..config import parse_size
from ..engines import MeasureSpec, open_engine, refuse_in_memory
from ..errors import InputError, NoRows, api_words, keyword_errors, naming_input, warn_at_caller, without_secrets
from ..numbers import BadNumber, integral, read_decimal, read_whole
from ..progress import set_phase
from ..sources import (
    SourceLike,
    arrow_once,
    check_label_column,
    choose_text_columns,
    class_names,
    conversation_columns,
    open_source,
    other_text_columns,
)
from ..sources.downloads import holds_downloads
from .clusters import cluster_frame, fill_previews, ids_from_bytes, near_threshold_matches
from .conflicts import conflicts_from_core
from .exact_verify import check_rereadable, give_back_exact_texts
from .examples import attach_texts, drop_texts
from .input_warnings import (
    SAMPLED,
    compressed_copy_warnings,
    is_media,
    label_warnings,
    media_column_warning,
    mixed_splits_warning,
    partition_warnings,
    token_count_column,
)
from .keys import BATCH_ROWS_VARIABLE
from .leakage import EvalSpec, EvalText, eval_splits, leakage, leaked_unique, open_eval, refuse_shared_files, without_train
from .near_warnings import capped_warning, sketch_margin, sketch_warning
from .output_columns import WARNING_PHRASES
from .result import AuditResult, AuditWarning, SourceInfo, build_result
from .special_tokens import special_tokens_warning
from .templates import template_signal, template_warnings, text_column_warning
from .text_choice import ConversationChoice
from .tokenizer import Tokenizer, load_tokenizer

ProgressCallback = Callable[[int], None]


@keyword_errors(phrases=WARNING_PHRASES)  # its warnings too (`api_words`): text='answer', not --text answer
@holds_downloads
def audit(
    data: SourceLike,
    *,
    text: str | Sequence[str] | None = None,
    label: str | None = None,
    normalize: str = defaults.NORMALIZE,
    near: bool = defaults.NEAR,
    threshold: float = defaults.THRESHOLD,
    ngram: int = defaults.NGRAM,
    shingle: str = defaults.SHINGLE,
    char_ngram: int | None = None,
    clustering: str = defaults.CLUSTERING,
    verify: str = defaults.VERIFY,
    num_perm: int = defaults.NUM_PERM,
    memory_budget: int | str | None = None,
    tokenizer: str | os.PathLike[str] | Tokenizer | None = None,
    eval: EvalSpec = None,
    eval_text: EvalText = None,
    keep_clusters: bool = True,
    examples: bool = True,
    batch_rows: int | None = None,
    progress: ProgressCallback | None = None,
    engine: str = "local",
    ray_address: str | None = None,
) -> AuditResult:
    """Audit a dataset: exact and near-duplicate clusters, train/eval leakage, conflicting
    labels and statistics of its text column(s).

    `data` is a path or URL (Parquet, JSONL/NDJSON, JSON array, CSV, Arrow IPC, text with a row
    a line; JSON, CSV and text also gzip/zstd-compressed), a folder (a `save_to_disk` dataset too), a glob pattern, a list
    of those, a polars DataFrame/LazyFrame, a pyarrow Table (any Arrow table, or a string array
    as a column named `text`) or a `datasets.Dataset`. The audit reads its input several times,
    and each read must see the same rows: a LazyFrame is run once, streaming, into a temporary
    Parquet file of the columns the audit reads (about their compressed size, in TMPDIR; removed
    when the call ends), and a one-shot Arrow stream (a RecordBatchReader, a cursor) read once
    into memory; pass files for a stream larger than memory. `text`
    names the column(s) to audit (several are joined with a newline; a conversation column, a
    list of messages, is its messages' contents one a line); without it the column is chosen as
    the CLI documents. `eval` is one eval split, a list of them (named by file stem),
    a {name: data} mapping or a `datasets.DatasetDict`; `eval_text` names their text column:
    one for every split, or {name: column} (splits not named use the train columns).
    `keep_clusters` keeps the per-row cluster table (`result.clusters`, 8-20 bytes a row).
    `shingle`: "auto" (char n-grams for text in scripts written without spaces and for rows of
    1,000+ characters with fewer words than `ngram`, word n-grams otherwise), "word" or "char"; `ngram` words or `char_ngram` characters per shingle (None:
    the core's default, or `ngram` with shingle="char"). `clustering`: "representative" (every
    member verified similar to its cluster's representative) or "components" (connected
    components of verified links: chains). `verify`: "sketch" (MinHash estimate) or "exact"
    (exact Jaccard of the shingle sets; reads the candidate rows a second time, so `data` must
    be readable twice).
    `examples` reads back the texts a report shows (top clusters' representatives and members,
    leakage matches, conflicting rows; `auditing/examples.py`); False keeps every data text out
    of the result, the stored cluster previews included.
    `tokenizer` is the model's `tokenizer.json` (or a loaded `Tokenizer`): token lengths and the
    unique token counts are then exact (`encode(text, add_special_tokens=False)` on the raw text)
    instead of the labelled bytes/4 estimate. It is loaded before any data is read.
    `engine`: "local" (this process) or "ray" (Ray tasks read and measure the input files on a
    cluster; `pip install 'epochplan[ray]'`): the same result either way. `ray_address`: the
    cluster (HOST:PORT, ray://HOST:PORT or auto); without it the Ray this process is connected
    to, else `RAY_ADDRESS`, else Ray is started on this machine. The connection is kept for the
    next call; another address closes the one epochplan made and connects there, and is refused
    (`EngineError`) when the connection is the caller's own `ray.init`.
    """
    _choices(
        normalize=(normalize, defaults.NORMALIZE_MODES),
        shingle=(shingle, defaults.SHINGLE_KINDS),
        clustering=(clustering, defaults.CLUSTERINGS),
        verify=(verify, defaults.VERIFICATIONS),
    )
    ngram, num_perm = _whole("ngram", ngram), _whole("num_perm", num_perm)
    memory_budget = None if memory_budget is None else _size(memory_budget)
    char_ngram = None if char_ngram is None else _whole("char_ngram", char_ngram)
    threshold = _real(threshold)
    near, keep_clusters, examples = _flags(near=near, keep_clusters=keep_clusters, examples=examples)
    _check_names(text=text, label=label)
    check_progress(progress)
    if batch_rows is not None:
        batch_rows = _whole("batch_rows", batch_rows, MAX_BATCH_ROWS)
    refuse_in_memory(engine, data)  # before Ray is started (seconds) to be told the input is not files
    loaded = load_tokenizer(tokenizer)
    splits = eval_splits(eval, eval_text)  # their names checked before any data is read
    splits, eval_text, left_out = without_train(data, eval, splits, eval_text)
    for message in left_out:  # also in the result's warnings; said here for `dedup`, which returns rows
        warn_at_caller(api_words(message))
    # Near settings are checked by the core here, before any data is read.
    auditor = Auditor(
        normalize=normalize,
        keep_row_ids=keep_clusters,
        near=near,
        threshold=threshold,
        ngram=ngram,
        shingle=shingle,
        char_ngram=char_ngram,
        clustering=clustering,
        verify=verify,
        num_perm=num_perm,
        memory_budget=memory_budget or defaults.default_memory_budget(),
    )
    if loaded is not None:
        auditor.set_tokenizer(loaded.counter)
    if batch_rows is None:
        batch_rows = _batch_rows_from_env()
    # Read once, here: an Arrow stream gives the same rows to every read below (a LazyFrame is
    # run once below, for the columns chosen from its schema).
    data = arrow_once(data)
    splits = [(name, arrow_once(spec)) for name, spec in splits]
    if near and verify == "exact":
        for one in [data, *(spec for _, spec in splits)]:
            check_rereadable(one)
    runner = open_engine(engine, ray_address)
    source = open_source(data)
    source.check_columns(([text] if isinstance(text, str) else list(text or [])) + ([label] if label else []))
    schema, typed, index = source.schema(), source.typed_schema(), source.index_columns()
    try:
        holds_media = lambda column: is_media(column, typed[column], lambda c: source.first_values(c, SAMPLED))  # noqa: E731
        gives_way = ConversationChoice.of(source)
        columns = choose_text_columns(schema, text, source.description, label, typed, holds_media, index, gives_way)
    except InputError:
        # Files that differ in columns: a column only some have is why none could be chosen.
        source.check_shared_columns()
        raise
    check_label_column(schema, label, source.description)
    # Here, not only in the reads of the engine: a Ray driver reads no batch itself, yet its
    # examples and template are read back from this source, which must know every line's fields.
    source.widen(columns + ([label] if label else []))
    eval_sources = open_eval(splits, columns, eval_text)
    refuse_shared_files(source, eval_sources)
    with ExitStack() as held:  # the temporary files LazyFrames are run into, removed when the audit ends
        source = held.enter_context(source.run_once(columns + ([label] if label else []), batch_rows))
        eval_sources = {
            name: (held.enter_context(split.run_once(split_columns, batch_rows)), path, split_columns)
            for name, (split, path, split_columns) in eval_sources.items()
        }

        measurer = dict(
            normalize=normalize, near=near, threshold=threshold, ngram=ngram, shingle=shingle, char_ngram=char_ngram, num_perm=num_perm
        )
        spec = MeasureSpec(measurer, loaded.path, loaded.data) if loaded is not None else MeasureSpec(measurer)
        with naming_input(source.description, source.locate_row, columns, label):
            runner.ingest(auditor, source, columns, label, batch_rows, spec, progress)
        if auditor.rows == 0:
            raise NoRows(f"{source.description}: no rows to audit")
        if near:
            set_phase(progress, "near-duplicate clustering")
        if near and verify == "exact":
            give_back_exact_texts(auditor, source, columns, batch_rows)
        runner.finish_near(auditor)

        tokenizer_file = loaded.file if loaded is not None else None
        info = SourceInfo(
            paths=[without_secrets(str(p)) for p in source.paths],
            text_columns=columns,
            label_column=label,
            normalize=normalize,
            tokenizer=tokenizer_file,
            token_count_column=token_count_column(typed) if tokenizer_file is None else None,
        )
        summary = auditor.summary(with_labels=label is not None)
        exact_ids = ids_from_bytes(auditor.row_ids())
        near_ids = ids_from_bytes(auditor.near_ids())
        keep = auditor.keep_flags()
        clusters = (
            cluster_frame(exact_ids, near_ids if near else None, keep, auditor.near_similarity())
            if keep_clusters and exact_ids is not None and keep is not None
            else None
        )
        result = build_result(info, summary, clusters)
        if result.labels is not None:
            result.labels = dataclasses.replace(result.labels, label_names=class_names(source, label))
        if examples:
            result.exact = fill_previews(result.exact, source, columns, normalize)  # the core keeps 65,536 at most
            if result.near is not None:
                result.near = fill_previews(result.near, source, columns, normalize)
        result.template = template_signal(auditor, source, columns, normalize, examples)
        others = other_text_columns(typed, columns, label, index)
        result.warnings = template_warnings(
            result.template, others, result.exact, result.near, lambda column: source.first_values(column, SAMPLED)
        )
        capped = int((summary.get("near") or {}).get("capped_rows") or 0)
        if capped and not result.warnings:  # a template warning already says the template drives the near counts
            result.warnings.append(capped_warning(capped, result.rows))
        near_warnings_end = len(result.warnings)  # where the near-sketch warning goes, once leakage is known
        chosen = None
        if text is None:  # a conversation chosen over a category, or a category beside several conversations, says so first
            chosen = gives_way.warning(columns, conversation_columns(typed, label, index)) or text_column_warning(columns, others)
        if chosen is not None:
            result.warnings.append(chosen)
        not_ids = pl.Schema({name: dtype for name, dtype in typed.items() if name not in index})  # pandas' index: row ids
        media = media_column_warning(not_ids, columns, lambda column: source.first_values(column, SAMPLED))
        if media is not None:
            result.warnings.append(media)
        result.warnings.extend(partition_warnings(source.partition_keys()))
        result.warnings.extend(mixed_splits_warning(source.paths))
        result.warnings.extend(compressed_copy_warnings(source.paths))
        for name, (split, _, _) in eval_sources.items():
            result.warnings.extend(compressed_copy_warnings(split.paths, f"eval split {name!r}"))
        result.warnings.extend(label_warnings(result.labels, label, source.schema().get(label) if label else None))
        result.warnings.extend(special_tokens_warning(tokenizer_file))
        misread = source.misread_separator()
        if misread is not None:
            path, header = misread
            message = (
                f"{without_secrets(path)} is read as one column, {header!r}: its fields look separated by another character than "
                "the file type's (',' for .csv, a tab for .tsv), so each row's fields are audited as one text; "
                "rewrite it with that separator, or as .tsv if it uses tabs"
            )
            result.warnings.append(AuditWarning("separator", message, 1.0, ""))
        result.warnings.extend(AuditWarning("eval-split-left-out", message, 1.0, "") for message in left_out)
        if label is not None:
            result.conflicts = conflicts_from_core(auditor)
        if eval_sources:
            set_phase(progress, "eval splits (leakage)")
            result.leakage, result.leaks = leakage(auditor, eval_sources, batch_rows, near, (source, columns))
            exact_leaked, near_leaked = leaked_unique(result.leaks, near_ids if near else None)
            result.exact = dataclasses.replace(result.exact, leaked_unique=exact_leaked)
            if result.near is not None:
                result.near = dataclasses.replace(result.near, leaked_unique=near_leaked)
        if near and verify == "sketch" and result.near is not None:
            margin = sketch_margin(result.near.threshold, num_perm)
            merged, leaked = near_threshold_matches(auditor, near_ids, result.leaks, result.near.threshold + margin)
            warning = sketch_warning(result.template, capped, result.rows, result.near.threshold, margin, merged, leaked)
            if warning is not None:
                if any(w.id == "template" for w in result.warnings):  # its shared text is shown once
                    warning = dataclasses.replace(warning, text="")
                result.warnings.insert(near_warnings_end, warning)
        if examples:
            attach_texts(result, source, columns, eval_sources)
        else:
            drop_texts(result)
        # In the words of the API function the user called, as its errors are; the command line's as they are.
        result.warnings = [dataclasses.replace(w, message=api_words(w.message)) for w in result.warnings]
        return result


def _whole(name: str, value: object, most: int = defaults.MAX_WHOLE) -> int:
    """A whole-number setting the core takes as unsigned 64-bit, as a Python int between 1 and
    `most`: any integral number (a numpy integer too), not a bool. Anything else would surface as
    pyo3's OverflowError/TypeError instead of a message naming the argument."""
    whole = integral(value)
    if whole is None:
        raise InputError(f"{name}={value!r}: must be a whole number")
    if not 1 <= whole <= most:
        raise InputError(f"{name}={value}: must be between 1 and {most:,}")
    return whole


def _size(value: object) -> int:
    """The memory budget in bytes: a whole number, or a size as the command line takes it
    (`"64MB"`, `"2GiB"`), at least the core's minimum."""
    try:
        return parse_size(value) if isinstance(value, str) else defaults.check_memory_budget(_whole("memory_budget", value))
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"memory_budget={value!r}: {exc}") from None


def check_progress(progress: object) -> None:
    """`progress` None or callable, before any data is read (not Python's own words from deep
    inside: "'int' object is not callable")."""
    if progress is not None and not callable(progress):
        raise InputError(f"progress={progress!r}: must be a function, called with the number of rows read so far, or None")


def _choices(**given: tuple[object, tuple[str, ...]]) -> None:
    """Each named option one of its choices (the core's): None, a number, bytes or a list would be
    pyo3's TypeError ("'None' is not an instance of 'str'") instead of a message naming it."""
    for name, (value, choices) in given.items():
        if not isinstance(value, str) or value not in choices:
            raise InputError(f"{name}={value!r}: use one of {', '.join(choices)}")


def _real(threshold: object) -> float:
    """The threshold as a float: any real number (a numpy float too), not a bool; its range is
    the core's to check."""
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
        raise InputError(f"threshold={threshold!r}: must be a number between 0 and 1")
    return float(threshold)


def _flags(**values: object) -> list[bool]:
    """Boolean settings as bools (a numpy bool too): anything else (a string "no" is true to
    Python) is an InputError naming the argument, not pyo3's TypeError, nor taken as true."""
    for name, value in values.items():
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(f"{name}={value!r}: must be True or False")
    return [bool(value) for value in values.values()]


def _check_names(**names: object) -> None:
    """`text` (a column name or a list of them) and `label` (a name): anything else would fail
    deep inside with Python's own words ("'int' object is not iterable")."""
    for name, value in names.items():
        several = name == "text" and isinstance(value, (list, tuple))
        if value is not None and not (isinstance(value, str) or (several and value and all(isinstance(v, str) for v in value))):
            kind = "a column name or a list of them" if name == "text" else "a column name"
            raise InputError(f"{name}={value!r}: must be {kind}")
        # No blank names, as on the command line (`--text ""`, often an unset shell variable).
        given = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []
        if any(not v.strip() for v in given):
            raise InputError(
                f"{name}={value!r}: must name columns, with no empty names (as on the command line); rename such a column first"
            )


def _batch_rows_from_env() -> int:
    """Rows per batch handed to the core: EPOCHPLAN_BATCH_ROWS, default 50 000, read by the one
    rule for counts (50k, 50,000 and 5e4 alike). Smaller batches use less memory and react to
    Ctrl-C sooner; larger ones have less per-batch overhead."""
    value = os.environ.get(BATCH_ROWS_VARIABLE, "").strip()
    if not value:
        return defaults.BATCH_ROWS
    allowed = f"must be between 1 and {MAX_BATCH_ROWS:,} rows (default {defaults.BATCH_ROWS:,})"
    try:
        if not 1 <= read_decimal(value) <= MAX_BATCH_ROWS:  # out of range, however far (2^63 included)
            raise InputError(f"EPOCHPLAN_BATCH_ROWS={value}: {allowed}")
        return read_whole(value, least=1)
    except BadNumber as e:
        raise InputError(f"EPOCHPLAN_BATCH_ROWS={value}: {e}; it {allowed}") from None


#: Most rows EPOCHPLAN_BATCH_ROWS may ask for: a batch is held whole, so more only costs memory
#: (and a number past 64 bits failed deep in the reader, blaming the data file).
MAX_BATCH_ROWS = 100_000_000
