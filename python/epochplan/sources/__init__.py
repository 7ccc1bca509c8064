"""Where data comes from: paths (files, folders, globs), formats, the audited columns, batches
streamed in input order, and row previews."""

from .batches import DEFAULT_BATCH_ROWS, batches, count_rows, prefetch, row_batches
from .columns import LABEL, TEXT, check_label_column, choose_text_columns, other_text_columns, text_expression
from .formats import Source, SourceLike, open_source
from .paths import FORMATS, parse_eval, resolve_paths
from .preview import preview_rows

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FORMATS",
    "LABEL",
    "TEXT",
    "Source",
    "SourceLike",
    "batches",
    "check_label_column",
    "choose_text_columns",
    "count_rows",
    "open_source",
    "other_text_columns",
    "parse_eval",
    "prefetch",
    "preview_rows",
    "resolve_paths",
    "row_batches",
    "text_expression",
]
