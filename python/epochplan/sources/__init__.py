"""Where data comes from: paths (files, folders, globs, URLs), formats, `datasets` objects, the audited columns, batches
streamed in input order, and row previews."""

from .batches import DEFAULT_BATCH_ROWS, batches, count_rows, prefetch, row_batches
from .class_labels import class_names, shown_label
from .columns import LABEL, TEXT, check_label_column, choose_text_columns, conversation_columns, other_text_columns, text_expression
from .formats import Source, SourceLike, open_source
from .hf import is_dataset_dict
from .in_memory import arrow_once, read_once
from .paths import FORMATS, OUTPUT_FORMATS, SEPARATORS, parse_eval, parse_eval_text, resolve_paths, split_name
from .preview import preview_rows
from .remote import is_remote


def _keep_sigint_ignored() -> None:
    """Importing polars (above) puts its own SIGINT handler in place of the process's. Where
    SIGINT was ignored (a job started with `&` from a script inherits that), that handler turns
    a SIGINT the process should ignore into polars quietly ending a scan early: an audit or gate
    of fewer rows than the data has, with exit 0. Ignoring it again keeps it ignored."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


_keep_sigint_ignored()

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FORMATS",
    "OUTPUT_FORMATS",
    "SEPARATORS",
    "LABEL",
    "TEXT",
    "Source",
    "SourceLike",
    "arrow_once",
    "batches",
    "check_label_column",
    "choose_text_columns",
    "conversation_columns",
    "class_names",
    "count_rows",
    "is_dataset_dict",
    "is_remote",
    "open_source",
    "other_text_columns",
    "parse_eval",
    "parse_eval_text",
    "prefetch",
    "preview_rows",
    "read_once",
    "resolve_paths",
    "row_batches",
    "shown_label",
    "split_name",
    "text_expression",
]
