"""Warnings about what the input holds beside the audited text: media columns the audit does not
compare (`media-column`), partition keys of its folders it does not read (`partition-keys`), files
named as two or more of a dataset's splits read as one (`mixed-splits`), a file beside its compressed copy
(`compressed-copy`), label values that most likely mean one class or none
(`label-variants`, `label-sentinel`), and a label column of ids or text rather than classes (`label-cardinality`). Each says what the numbers then count and how to change it."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable

import polars as pl

from ..errors import without_secrets
from ..sources.paths import SPLITS_APART, Location, file_format, mixed_splits, splits_apart
from ..sources.remote import is_remote
from .result import AuditWarning, Labels

#: Column names that hold media by convention (Hugging Face, LLaVA, webdataset exports): a
#: string column of these names is media when its values are paths or URLs of media files.
MEDIA_NAMES = frozenset({"image", "images", "img", "image_path", "image_url", "image_file", "picture", "photo", "audio", "video"})
MEDIA_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".svg",
    ".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".mp4", ".avi", ".mov", ".mkv", ".webm",
)  # fmt: skip
#: Opening bytes of image, audio and video files: a binary column holding them is media.
MEDIA_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"ID3", b"fLaC", b"OggS", b"BM", b"II*\x00", b"MM\x00*", b"\x1aE\xdf\xa3")
#: Values of a candidate column looked at.
SAMPLED = 32
#: Label groups named in a warning.
NAMED_GROUPS = 3
#: Distinct labels past which, when they are also more than half the labelled rows, the label
#: column looks like ids or text (`label-cardinality`).
MANY_LABELS = 1_000


#: Names of a column of per-row token counts (FineWeb's `token_count`): never read, but named
#: where the bytes/4 estimate is explained, with the way to exact counts.
TOKEN_COUNT_NAMES = frozenset(
    {"token_count", "token_counts", "num_tokens", "n_tokens", "ntokens", "tokens_count", "token_len", "token_length"}
)


def token_count_column(schema: pl.Schema) -> str | None:
    """The input's column of per-row token counts (numbers, a `TOKEN_COUNT_NAMES` name), if any."""
    return next((name for name, dtype in schema.items() if name.lower() in TOKEN_COUNT_NAMES and dtype.is_numeric()), None)


#: Openings of base64-encoded image files (JPEG, PNG, GIF, WebP), as benchmark TSVs hold them.
BASE64_MAGIC = ("/9j/", "iVBORw0KGgo", "R0lGOD", "UklGR")
URL_SCHEMES = ("http://", "https://", "s3://", "gs://", "gcs://", "az://", "abfs://", "hf://", "file://")


def _looks_like_media(value: object) -> bool:
    """Bytes of a media file, or (in a column named as media) its path, URL or base64 text."""
    if isinstance(value, list):
        return _looks_like_media(value[0])
    if isinstance(value, bytes):
        return value.startswith(MEDIA_MAGIC) or value[4:8] == b"ftyp"
    if isinstance(value, str):
        text = value.strip()
        path = text.split("?", 1)[0].lower()
        return (
            path.startswith(("data:image/", "data:audio/", "data:video/", *URL_SCHEMES))
            or path.endswith(MEDIA_SUFFIXES)
            or text.startswith(BASE64_MAGIC)
        )
    return False


def is_media(name: str, dtype: pl.DataType, sample: Callable[[str], list[object]]) -> bool:
    """A Hugging Face Image/Audio struct ({bytes, path} / {array, path, sampling_rate}), or bytes
    of media files, or paths or URLs of media files in a column named as media is: by the first
    `SAMPLED` values that are not null nor empty, most of them such (a binary column of hashes, captions in a column named
    `image` are no media)."""
    if isinstance(dtype, pl.Struct):
        fields = {f.name: f.dtype for f in dtype.fields}
        return fields.get("bytes") == pl.Binary or {"array", "sampling_rate"} <= fields.keys()
    inner = dtype.inner if isinstance(dtype, (pl.List, pl.Array)) else dtype
    if inner != pl.Binary and not (inner == pl.String and name.lower() in MEDIA_NAMES):
        return False
    values = sample(name)  # not null nor empty: a row without media says nothing
    return bool(values) and sum(map(_looks_like_media, values)) * 2 > len(values)


def media_column_warning(schema: pl.Schema, columns: list[str], sample: Callable[[str], list[object]]) -> AuditWarning | None:
    """A `media-column` warning when the input has images, audio or video: beside the audited
    text, rows with one caption or conversation and different media count as duplicates (and
    `dedup` drops them); audited themselves (a struct's `path`), rows are compared by that name.
    `sample(column)`: the first values of a column."""
    audited = {c.split(".", 1)[0] for c in columns}
    media = [name for name, dtype in schema.items() if is_media(name, dtype, sample)]
    if not media:
        return None
    inside = [c for c in columns if c.split(".", 1)[0] in media]
    if inside:
        message = (
            f"audited {', '.join(repr(c) for c in inside)}, the name or path of a media column: rows are compared by that "
            "text, not by the media, so media with one name count as duplicates and different names of one file as unique"
        )
        return AuditWarning("media-column", message, 1.0, "")
    beside = [name for name in media if name not in audited]
    names = ", ".join(beside[:NAMED_GROUPS]) + (f" and {len(beside) - NAMED_GROUPS} more" if len(beside) > NAMED_GROUPS else "")
    message = (
        f"the input also has media column(s) {names}, which the audit does not compare: rows with the same "
        f"{', '.join(repr(c) for c in columns)} and different media count as duplicates, and dedup keeps one of them. "
        "If the media matter, add a column that identifies them (a hash of the bytes, the path) and audit it too with --text"
    )
    return AuditWarning("media-column", message, 1.0, "")


def partition_warnings(keys: list[str]) -> list[AuditWarning]:
    """A `partition-keys` warning when the input's folders are Hive partitions (`lang=en/`)
    whose keys are not columns of its files: they are not read."""
    if not keys:
        return []
    named = ", ".join(f"{k}=…" for k in keys)
    message = (
        f"the input's folders are partitions ({named}) whose keys are not columns of its files: epochplan reads the files' "
        "columns only, so the audit cannot take them as --label or --text and dedup does not write them; write them into "
        "the files first if they matter (polars: scan_parquet(..., hive_partitioning=True))"
    )
    return [AuditWarning("partition-keys", message, 1.0, "")]


def mixed_splits_warning(paths: list[Location]) -> list[AuditWarning]:
    """A `mixed-splits` warning when the input's files are named as two or more splits (a Hub
    snapshot's `data/` holding `train-*.parquet` and `test-*.parquet`, `train/` beside `test/`):
    read as one input, their rows are counted as one set, and rows of one split that are also in
    another as duplicates rather than leakage (`dedup` drops them from either)."""
    splits = mixed_splits(paths)
    if not splits:
        return []
    names, apart = splits_apart({name: [without_secrets(where) for where in wheres] for name, wheres in splits.items()})
    message = (
        f"the input's files are named as different splits ({names}), read here as one input: counts mix the splits, and a row "
        "of one split that is also in another counts as a duplicate, not as leakage; "
        f"{SPLITS_APART}{apart}"
    )
    return [AuditWarning("mixed-splits", message, 1.0, "")]


def compressed_copy_warnings(paths: list[Location], where: str = "the input") -> list[AuditWarning]:
    """A `compressed-copy` warning for each file of one input read beside a copy of it that
    differs only by a compression suffix (`d.jsonl` and `d.jsonl.gz`, as `gzip -k` leaves them in
    a folder): most likely one data set twice, every row counted as a duplicate of itself (and
    `dedup` keeps one of each pair). A warning, not an error: the two may hold different rows."""
    names: dict[str, list[tuple[str, str, bool]]] = {}  # the name a file was compressed from -> (file, that name, compressed)
    for location in paths:
        name = without_secrets(str(location))
        bare = name.split("?", 1)[0] if is_remote(name) else name  # a URL's query is no part of its name
        plain = bare[: bare.rfind(".")] if file_format(location)[1] else bare
        # Its format suffix as the readers take it, in any case (`d.JSONL` is read as `d.jsonl.gz` is, as JSON lines).
        dot = plain.rfind(".")
        names.setdefault(plain[:dot] + plain[dot:].lower() if dot > plain.rfind("/") else plain, []).append((name, plain, plain != bare))
    out = []
    kept = ", and dedup keeps one of each pair" if where == "the input" else ""
    for group in names.values():
        copies, plains = [name for name, _, _ in group], {plain for _, plain, _ in group}
        if len(copies) > 1 and any(compressed for _, _, compressed in group):  # not `d.JSONL` beside `d.jsonl`: no copy
            differ = "a compression suffix" if len(plains) == 1 else "a compression suffix and the case of their type suffix"
            message = (
                f"{where} reads {', '.join(copies[:-1])} and {copies[-1]}, which differ only by {differ}: if one is a copy of the "
                f"other (gzip -k keeps the original), each of its rows is counted twice, as a duplicate of itself{kept}; read "
                "only one of them (name the file, or a quoted pattern that matches one)"
            )
            out.append(AuditWarning("compressed-copy", message, 1.0, ""))
    return out


def label_warnings(labels: Labels | None, column: str | None, dtype: pl.DataType | None = None) -> list[AuditWarning]:
    """`label-variants`: label values that differ only in case, whitespace or Unicode form
    (`café` composed or decomposed, `ｐｏｓｉｔｉｖｅ` full-width: one value under NFKC; each counts
    as its own class, and rows carrying two of them as conflicting labels; not merged here);
    `label-sentinel`: the label -1 beside the classes 0, 1 and 2, which SNLI and MNLI (and GLUE's
    test splits) use for "no label"."""
    if labels is None or not labels.counts:
        return []
    out = []
    total = sum(labels.counts.values())
    # A list column's label is its combination of tags (`joy | love`).
    cardinality = cardinality_warning(labels, column, total, multi_label=isinstance(dtype, (pl.List, pl.Array)))
    groups: dict[str, list[str]] = defaultdict(list)
    # Not when the labels are ids or text: their variants say nothing, and grouping a million
    # values took seconds.
    for value in labels.counts if cardinality is None else ():
        groups[_variant_key(value)].append(value)
    variants = [sorted(group, key=lambda v: (-labels.counts[v], v)) for group in groups.values() if len(group) > 1]
    if variants:
        rows = sum(labels.counts[v] for group in variants for v in group)
        shown = "; ".join(", ".join(_shown_variant(v) for v in group[:4]) for group in variants[:NAMED_GROUPS])
        more = f" and {len(variants) - NAMED_GROUPS} more groups" if len(variants) > NAMED_GROUPS else ""
        message = (
            f"label column {column!r} has values that differ only in case, spaces or Unicode form: {shown}{more}. Each counts "
            "as its own class, and rows with two of them as conflicting labels; if they mean one class, make them one value "
            "(strip, lowercase and NFKC-normalise the labels) before auditing"
        )
        out.append(AuditWarning("label-variants", message, rows / total, ""))
    # Only beside SNLI's and MNLI's three classes (-1 is a real class of -1/0/1 sentiment or ±1
    # data), or in a `datasets` ClassLabel column, where -1 is "no label" by definition.
    if set(labels.counts) == {"-1", "0", "1", "2"} or (labels.label_names and "-1" in labels.counts):
        used = "a datasets ClassLabel uses" if labels.label_names else "datasets such as SNLI, MNLI and GLUE's test splits use"
        message = (
            f"{labels.counts['-1']:,} rows have the label -1 in label column {column!r}, which {used} for 'no label': here it "
            "is a class of its own (in the class counts, the imbalance and conflicting labels). If it means no label, drop those "
            "rows or make their label null"
        )
        out.append(AuditWarning("label-sentinel", message, labels.counts["-1"] / total, ""))
    if cardinality is not None:
        out.append(cardinality)
    return out


def _variant_key(value: str) -> str:
    """What label variants share: the value under NFKC (composed accents, full-width and
    compatibility letters as their plain ones, a no-break space as a space), case-folded, its
    whitespace runs one space and trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(folded.split())


def _shown_variant(value: str) -> str:
    """A label as the `label-variants` warning names it: its repr (a no-break space is `\\xa0`),
    with the characters that a composed form would not hold escaped (the accent of a decomposed
    `cafe\\u0301`, which looks like `café`), and its NFKC form after a compatibility character
    that shows (`'ｐｏｓｉｔｉｖｅ' (NFKC 'positive')`, `'ﬁle' (NFKC 'file')`): two labels that look
    alike are told apart, and the reason shows."""
    shown, composed = repr(value), unicodedata.normalize("NFC", value)
    for c in dict.fromkeys(value):
        if not c.isascii() and c not in composed and c in shown:
            shown = shown.replace(c, f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
    if any(c.isprintable() and unicodedata.normalize("NFKC", c) != c for c in composed):
        shown += f" (NFKC {unicodedata.normalize('NFKC', composed)!r})"
    return shown


def cardinality_warning(labels: Labels, column: str | None, labelled: int, multi_label: bool = False) -> AuditWarning | None:
    """`label-cardinality`: more than `MANY_LABELS` distinct labels that are also more than half
    the labelled rows (most classes of one or two rows): an id or text column taken as the
    label, whose class counts, balance and conflicting labels say nothing. Real classification
    data has far fewer classes than rows (1,000 ImageNet classes, 20,000 product categories of
    a million rows), so it does not fire there."""
    distinct = len(labels.counts)
    if multi_label:  # counted by combination (`joy | love`): many combinations of few tags are real data
        distinct = len({tag for combination in labels.counts for tag in combination.split(" | ")})
    if distinct <= MANY_LABELS or distinct * 2 <= labelled:
        return None
    message = (
        f"label column {column!r} has {distinct:,} distinct values among {labelled:,} labelled rows: it looks like an id or "
        "free text, not classes, so the class counts, imbalance and conflicting labels mean little; give --label the "
        "column that holds the classes"
    )
    return AuditWarning("label-cardinality", message, distinct / labelled, "")
