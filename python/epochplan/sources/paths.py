"""Which files an input names: local files, folders and glob patterns, remote URLs (listed by
`remote.py`), in the order given; each file's format and compression; and `--eval` specs
(PATH or NAME=PATH) with their `--eval-text` columns.

What a folder read takes: a folder that is a Hugging Face `save_to_disk` dataset (it has a
`state.json` listing `_data_files`) is read as that dataset, its shards in the listed order.
Any other folder gives its data files (`DATA_SUFFIXES`, optionally compressed), sorted by name,
not descending into subfolders, and leaves out hidden and `_`-prefixed files (`_SUCCESS`,
`_metadata`), the `datasets` metadata files (`METADATA_FILES`) and `cache-*.arrow` files.
A pattern's matches in a `save_to_disk` folder are taken as a folder read takes them
(`saved_datasets.as_saved_datasets`).
"""

from __future__ import annotations

import errno
import glob as globlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from ..errors import InputError, in_api_call, kind_of, option, refused_path, shown, with_article
from .remote import canonical, file_name, is_remote, list_remote, walk_remote
from .saved_datasets import as_saved_datasets, saved_dataset_files

#: File suffix -> reader kind. The one list of input formats.
FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "ndjson",
    ".ndjson": "ndjson",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".arrow": "arrow",
    ".ipc": "arrow",
    ".feather": "arrow",
    ".txt": "text",
}
#: Compression suffix -> codec (pyarrow's name). Only row formats can be compressed as a whole file.
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
#: The shell command that unpacks each compression to a pipe, for hints that show a command.
UNPACK = {"gzip": "zcat FILE | ", "zstd": "zstdcat FILE | "}
COMPRESSIBLE = ("ndjson", "json", "csv", "tsv", "text")
#: The field separator of each delimited kind, read and written (`.tsv`: plain tab-separated
#: values unless the file quotes as CSV does, `sniff.tsv_is_quoted`).
SEPARATORS = {"csv": ",", "tsv": "\t"}
#: Output suffix -> writer kind (`dedup -o`).
OUTPUT_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "ndjson",
    ".ndjson": "ndjson",
    ".csv": "csv",
    ".tsv": "tsv",
    ".arrow": "arrow",
    ".txt": "text",  # text-file inputs only: a row a line (see `deduplicate.check_lines_output`)
}
#: Files in a folder that describe a `datasets` dataset rather than hold rows.
METADATA_FILES = frozenset({"dataset_info.json", "state.json", "dataset_dict.json"})
SUFFIX_LIST = ".parquet, .jsonl, .ndjson, .json, .csv, .tsv, .arrow, .txt (row formats also as .gz or .zst)"

Location = Path | str  # a local path, or a remote URL


def has_magic(path: str) -> bool:
    """Whether `path` holds glob characters (those of Python's `glob` and of polars' readers,
    which take a path as a pattern by default)."""
    return any(ch in path for ch in "*?[")


def file_format(location: Location) -> tuple[str | None, str | None]:
    """(reader kind, compression) from the file name; kind None when the suffix is unknown. An
    http(s) URL's query and fragment are no part of its name (`data.parquet?X-Amz-Signature=…`,
    a presigned URL)."""
    name = file_name(location).lower()
    suffixes = PurePosixPath(name).suffixes
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression is not None:
        suffixes = suffixes[:-1]
    kind = FORMATS.get(suffixes[-1]) if suffixes else None
    return kind, compression


def is_data_file(name: str) -> bool:
    """Whether a folder read takes the file `name` (see the module docstring)."""
    lower = name.lower()
    if lower.startswith((".", "_")) or lower in METADATA_FILES or (lower.startswith("cache-") and lower.endswith(".arrow")):
        return False
    return file_format(lower)[0] is not None


def _refuse_dangling(paths: Iterable[Path]) -> None:
    """Refuse a data file of a folder or a pattern that is a link to nothing (a Hugging Face hub
    cache snapshot whose blob is missing): left out, its rows would be missing without a word."""
    for path in sorted(paths):
        try:
            missing = path.is_symlink() and not path.exists()
        except OSError:  # a loop of links
            missing = True
        if missing:
            target = os.readlink(path)
            if os.path.lexists(path.parent / target):  # the link it names exists: links in a loop
                raise InputError(
                    f"{shown(str(path))}: a link to {shown(target)} that leads back to itself (links in a loop); fix or remove the links"
                )
            raise InputError(
                f"{shown(str(path))}: a link to {shown(target)}, which does not exist (a Hugging Face cache whose download "
                "did not finish?); download the file again, or remove the link to leave it out"
            )


_READ_TWICE = ": an input is read more than once (the report's example rows are read back); write it to a file first"


def _deeper_hint(folder: str, walk: Iterator[tuple[str, list[str], int]], query: str = "", budget: int = 10_000) -> str:
    """Where the data files of a folder that has none are, when its subfolders hold some (a
    Hugging Face Hub snapshot keeps them in `data/`, a Hive layout in `year=2024/`): a folder
    read does not descend. `walk` gives each folder (hidden and `_`-prefixed ones skipped), its
    file names and how many entries it holds; the search stops after `budget` entries (an error
    message must not walk a home folder or a bucket). `query`: a URL's, after the pattern.
    Files that are a dataset's splits (`data/train-*.parquet` beside `data/test-*.parquet`, or
    `train/` beside `test/`) are named as splits: one pattern for all would read them as one."""
    found: set[str] = set()
    suffix = ""
    files: list[str] = []
    for root, names, entries in walk:
        budget -= entries
        data = sorted(n for n in names if is_data_file(n))
        if data:
            found.add(root)
            if not suffix:  # of the pattern to suggest: the first file's format, with its compression
                suffix = data_suffix(data[0])
            files.extend(f"{root}/{name}" for name in data)
        if budget <= 0 or len(found) > 3:
            break
    if not found:
        return ""
    shown = ", ".join(sorted(found)[:3]) + (" …" if len(found) > 3 else "")
    # Split name -> the folders or patterns that read it alone.
    splits = {name: [where + query for where in wheres] for name, wheres in split_patterns(files).items()}
    if len(splits) > 1:
        names, apart = splits_apart(splits)
        return (
            f"; a folder read does not look into subfolders, and data files are in {shown}, as separate splits "
            f"({names}): {SPLITS_APART}{apart}"
        )
    # The subfolders of `folder` that hold them. Files in folders below two or more of them
    # (FineWeb's `data/CC-MAIN-*/` beside `sample/10BT/`) may be subsets of one another, and `**`
    # would read both; folders of files themselves (dumps, Hive partitions `k=a/`) are parts.
    below = [(root[len(folder) :] if root.startswith(folder) else root).strip("/").split("/") for root in found]
    tops = sorted({parts[0] for parts in below})
    if len(tops) > 1 and any(len(parts) > 1 for parts in below) and not any("=" in top for top in tops):
        return (
            f"; a folder read does not look into subfolders, and data files are in {shown}, under several subfolders "
            f"({', '.join(tops)}), which may hold the same rows (a sample beside the whole): read the one you mean, e.g. "
            f"'{folder}/{tops[0]}/**/*{suffix}{query}'"
        )
    if len(found) > 1 and len(tops) == 1:  # all below one subfolder (`data/`): the pattern beneath it
        return f"; a folder read does not look into subfolders, and data files are in {shown}: a quoted pattern such as '{folder}/{tops[0]}/**/*{suffix}{query}' reads them all"
    return f"; a folder read does not look into subfolders, and data files are in {shown}: pass that folder, or a quoted pattern such as '{folder}/**/*{suffix}{query}'"


#: Names of a dataset's splits, in file names (`test-00000-of-00001.parquet`) and folder names.
SPLIT_NAMES = ("train", "test", "validation", "valid", "val", "dev", "eval")
_SHARD = re.compile(rf"({'|'.join(SPLIT_NAMES)})([-_.]|(?=\d))", re.IGNORECASE)


def split_shard(name: str) -> tuple[str, str] | None:
    """(split, prefix) when the file `name` is a shard of a dataset's split, as the Hugging Face
    Hub names them (`train-00000-of-00002.parquet`, `test.jsonl`): ("train", "train-")."""
    match = _SHARD.match(name)
    return (match.group(1).lower(), match.group(0)) if match else None


def shard_pattern(path: str) -> tuple[str, str] | None:
    """(split, the pattern that reads its shards alone) when the file at `path` is a shard of a
    dataset's split: `data/train-00000-of-00002.parquet` gives ("train", "data/train-*.parquet")."""
    folder, name = os.path.split(path)
    shard = split_shard(name)
    if shard is None:
        return None
    suffix = data_suffix(name)
    if name[len(shard[1]) - 1 :] == suffix:  # the split's one file (`test.jsonl`): `test.*.jsonl` would miss it
        return shard[0], path
    return shard[0], os.path.join(folder, f"{shard[1]}*{suffix}")


def split_of(path: str) -> tuple[str, str] | None:
    """(split, the pattern or folder that reads it alone) when the file at `path` is named as a
    dataset's split: by its own name (`shard_pattern`), else by its folder's, as a `datasets`
    config's layout keeps them (`data/test/part-0.parquet` gives ("test", "data/test"))."""
    shard = shard_pattern(path)
    if shard is not None:
        return shard
    folder = os.path.dirname(path)
    name = os.path.basename(folder).lower()
    return (name, folder) if name in SPLIT_NAMES else None


#: Split names that name one split (as the Hugging Face Hub groups them): `val.jsonl` beside
#: `validation.jsonl` is one split, not two.
_SAME_SPLIT = {"valid": "validation", "val": "validation", "dev": "validation", "eval": "test"}


def split_patterns(paths: Iterable[str]) -> dict[str, list[str]]:
    """{split: the patterns or folders that read it alone} of the files at `paths` that are named
    as a dataset's split (`split_of`), the split named as its first file names it and its
    patterns in order; `val` and `validation` (and `dev`) are one split, `eval` and `test` one.
    A split by folder name (`data/test/part-0.parquet`) counts only where no file is named as a
    split itself: `test/train.jsonl` beside `test/extra.jsonl` is a train file in a folder named
    test, not two splits."""
    found = [(path, split_of(path), shard_pattern(path)) for path in paths]
    # Folders holding a file named as a split: their other files are of no split by the folder's name.
    by_name = {os.path.dirname(path) for path, _, shard in found if shard is not None}
    named: dict[str, str] = {}  # canonical split -> the name shown
    splits: dict[str, list[str]] = {}
    for path, split, shard in found:
        chosen = shard if os.path.dirname(path) in by_name else split
        if chosen is None:
            continue
        shown = named.setdefault(_SAME_SPLIT.get(chosen[0], chosen[0]), chosen[0])
        if chosen[1] not in splits.setdefault(shown, []):
            splits[shown].append(chosen[1])
    return splits


def mixed_splits(paths: Iterable[Location]) -> dict[str, list[str]]:
    """`split_patterns` when the files of one input are named as two or more splits
    (`data/train-*.parquet` beside `data/test-*.parquet`, read together by `data/` or
    `data/*.parquet`), else {}: read as one input, they count as one set of rows."""
    # A presigned URL's query names no split.
    splits = split_patterns(str(p).split("?", 1)[0] if is_remote(str(p)) else str(p) for p in paths)
    return splits if len(splits) > 1 else {}


#: The way out of files of several splits read as one input (a warning, a folder's error), before
#: `splits_apart`'s arguments; `plan()`, which takes no `eval=`, says it otherwise (its phrases).
SPLITS_APART = "audit one split and give the others as eval splits, e.g. "


def splits_apart(splits: Mapping[str, list[str]]) -> tuple[str, str]:
    """The split names, train first, and the arguments that audit train (all of its patterns)
    with the others as eval splits: `'data/train-*.parquet' --eval 'data/test-*.parquet'`, or in a call
    of the API those of the function called, `'data/train-*.parquet' with eval=['data/test-*.parquet']`."""
    train = "train" if "train" in splits else next(iter(splits))
    ordered = {train: splits[train], **splits}
    evals = [(name, where) for name, wheres in ordered.items() if name != train for where in wheres]
    # An eval split's default name is its file's (`test-*`): two of one name (`en/test-*.parquet`,
    # `fr/test-*.parquet`) are named apart by their folders, as `--eval` needs.
    defaults = [split_name(where) for _, where in evals]
    specs: dict[str, str] = {}  # where -> the split's name, where it needs one of its own
    for (name, where), default in zip(evals, defaults, strict=True):
        folder = PurePosixPath(where.split("?", 1)[0].rstrip("/")).parent.name if defaults.count(default) > 1 else ""
        specs[where] = f"{name}-{folder}" if folder else ""
    trains = ordered[train]
    if in_api_call():  # the API function's arguments: `'data/train-*.parquet' with eval=['data/test-*.parquet']`
        given: list[str] | dict[str, str] = list(specs)
        if any(specs.values()):
            given = {name or split_name(where): where for where, name in specs.items()}
        return ", ".join(ordered), f"{trains[0] if len(trains) == 1 else trains!r} with {option('--eval', given)}"
    others = [f"--eval '{name}={where}'" if name else f"--eval '{where}'" for where, name in specs.items()]
    return ", ".join(ordered), " ".join([*(f"'{where}'" for where in trains), *others])


def data_suffix(name: str) -> str:
    """A data file's format suffix, with its compression (`.jsonl.gz`)."""
    compressed = file_format(name)[1] is not None
    return "".join(PurePosixPath(name).suffixes[-2 if compressed else -1 :])


def _local_walk(folder: Path) -> Iterator[tuple[str, list[str], int]]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        yield root, names, len(dirs) + len(names)


def _remote_folder_error(url: str) -> InputError:
    """A remote folder without data files of its own, worded as a local one is. A folder URL's
    `?` starts its query (a `?` of the key would have made it a pattern): the suggested pattern
    goes before it."""
    base, mark, query = url.partition("?")
    return InputError(f"{url}: folder has no data file ({SUFFIX_LIST}){_deeper_hint(base.rstrip('/'), walk_remote(url), mark + query)}")


def _check_utf8_name(path: Path) -> None:
    """The readers (pyarrow, polars) take paths as UTF-8 text; a file name holding other bytes
    (Linux allows any; Python keeps them as surrogates) is named here rather than failing in
    them with a codec message."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{path!s}: the path is not valid UTF-8, which the readers cannot open; rename it (e.g. convmv)") from None


def resolve_paths(spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], split: str | None = None) -> list[Location]:
    """Expand files, folders and glob patterns (local or remote), in the order given. `split`: the
    eval split they are (the command line's `--eval NAME=PATH`), named in an error."""
    if split is not None:
        try:
            return resolve_paths(spec)
        except InputError as e:
            e.args = (f"eval split {split!r}: {e}", *e.args[1:])
            raise
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if not specs:
        raise InputError("no input given: pass a file, a folder or a glob pattern")
    found: list[Location] = []
    for item in specs:
        if not isinstance(item, (str, os.PathLike)):
            if any(hasattr(item, name) for name in ("__arrow_c_stream__", "__arrow_c_array__", "collect_schema", "columns", "with_format")):
                # A table is named by its type alone: its repr is its data, over many lines.
                raise InputError(
                    f"cannot read a list holding {with_article(kind_of(item))} as an input: pass one table (concatenate them first), or a list of file paths"
                )
            raise InputError(
                f"cannot read {shown(repr(item))} ({type(item).__name__}) as an input: give a path, a folder, a glob pattern or a URL"
            )
        if is_remote(str(item)):
            listed = list_remote(str(item), is_data_file)
            if not listed:
                raise _remote_folder_error(str(item))
            found.extend(listed)
            continue
        if str(item) == "-":
            raise InputError(f"-: standard input cannot be read{_READ_TWICE}")
        p = Path(item)
        try:
            exists = p.exists()
        except OSError as e:  # a name too long, a symlink loop (Python 3.11 raises them here)
            raise refused_path(item, e) from None
        # An existing path is a path, even with glob characters in its name (`data[1].parquet`);
        # only a path that does not exist is read as a pattern.
        if not exists and has_magic(str(p)):
            matched = [Path(m) for m in globlib.glob(str(p), recursive=True)]
            _refuse_dangling(m for m in matched if is_data_file(m.name))
            matches = as_saved_datasets(sorted(m for m in matched if m.is_file()))
            if not matches:
                raise InputError(f"{p}: the pattern matches no file; check the pattern and quote it")
            found.extend(matches)
        elif p.is_dir():
            files = saved_dataset_files(p)
            if files is None:
                named = [f for f in p.iterdir() if is_data_file(f.name)]  # listed once: links to nothing refused, files read
                _refuse_dangling(named)
                files = sorted(f for f in named if f.is_file())
            if not files:
                raise InputError(f"{p}: folder has no data file ({SUFFIX_LIST}){_deeper_hint(str(p), _local_walk(p))}")
            found.extend(files)
        elif exists:
            if not p.is_file():  # a FIFO (`<(zcat …)`, mkfifo) or a device
                raise InputError(f"{p}: is a pipe or a device, not a file{_READ_TWICE}")
            found.append(p)
        else:
            hint = ""
            text_like = file_format(str(item))[0] is None and any(ch.isspace() for ch in str(item))
            if not isinstance(spec, (str, os.PathLike)) and text_like:
                # `audit(["some text", ...])`: a list of texts, not of paths.
                hint = "; inputs are paths: to audit texts held in memory, pass them as a table (Python: pl.DataFrame({'text': texts}))"
            try:  # a link that leads nowhere (a missing target), or a loop on the way: the OS's words
                os.stat(p)
            except OSError as exc:
                if os.path.islink(p) or exc.errno == errno.ELOOP:
                    raise refused_path(item, exc) from None
            raise InputError(f"{shown(str(item))}: no such file or folder{hint}")
    seen: dict[object, Location] = {}
    for location in found:  # every file, given, matched or in a folder
        if isinstance(location, Path):
            _check_utf8_name(location)
        key = file_key(location)
        if key in seen:  # read twice, each of its rows would count as a duplicate of itself
            raise InputError(f"{shown(str(location))}: given twice (also as {shown(str(seen[key]))}); give each file once")
        seen[key] = location
    return found


def file_key(location: Location) -> object:
    """What is the same for every name of one file: a local file's device and inode (a link,
    another spelling of its path), an object-store URL's one spelling (`a%2Bb` and `a+b`)."""
    if isinstance(location, Path) or not is_remote(location):
        stat = os.stat(location)
        return (stat.st_dev, stat.st_ino)
    return canonical(location)


def format_of(paths: Sequence[Location]) -> str:
    """The one reader kind of `paths`; mixed or unknown types are input errors."""
    kinds: dict[str, list[Location]] = {}
    for p in paths:
        kind, compression = file_format(p)
        if kind is None:
            suffix = PurePosixPath(str(p)).suffix
            raise InputError(f"{p}: unsupported file type {suffix or '(none)'}; use {SUFFIX_LIST}")
        if compression is not None and kind not in COMPRESSIBLE:
            raise InputError(f"{p}: a compressed {kind} file is not supported; {kind} compresses inside the file, store it uncompressed")
        kinds.setdefault("ndjson" if kind == "json" else kind, []).append(p)  # .json and .jsonl hold the same rows
    if len(kinds) > 1:
        raise InputError(_mixed_types(kinds))  # naming no input: an eval split's is named by `leakage.open_eval`
    return next(iter(kinds))


#: Names of the reader kinds in messages, and the order in which a tie of files suggests one:
#: a data set's formats first; a `.txt` or `.json` beside them is most often a licence or metadata.
_KIND_NAMES = {"parquet": "Parquet", "arrow": "Arrow", "ndjson": "JSON lines", "csv": "CSV", "tsv": "TSV", "json": "JSON", "text": "text"}


def _mixed_types(kinds: Mapping[str, list[Location]]) -> str:
    """The one-line error of inputs of several file types: each type with a file of it, and a
    quoted pattern that reads the type with the most files (`'hub/*.parquet'`)."""
    named = [f"{_KIND_NAMES[file_format(files[0])[0] or 'text']} ({shown(str(files[0]))})" for files in kinds.values()]
    ranked = sorted(kinds.values(), key=lambda files: (-len(files), list(_KIND_NAMES).index(file_format(files[0])[0] or "text")))
    suffixes = {data_suffix(file_name(f)).lower() for f in ranked[0]}
    bare = [str(f).split("?", 1)[0] for f in ranked[0]]
    folders = {os.path.dirname(f) for f in bare}
    suffix = suffixes.pop() if len(suffixes) == 1 else PurePosixPath(file_name(ranked[0][0]).lower()).suffixes[0] + "*"
    if len(folders) == 1:
        folder = folders.pop()
        hint = f", e.g. '{folder}/*{suffix}'" if folder else f", e.g. '*{suffix}'"
    elif any(is_remote(f) for f in bare):
        hint = f", e.g. its {suffix} files"
    else:
        hint = f", e.g. '{os.path.commonpath(bare)}/**/*{suffix}'"
    return f"inputs mix file types: {', '.join(named)}; audit one type at a time{hint}"


def split_name(path: str) -> str:
    """The default name of an eval split: the file name without format and compression suffixes
    (a pattern's too: `test-*.parquet` is `test-*`, a name reports, check ids and baselines keep)."""
    if is_remote(path):
        path = path.split("?", 1)[0]
    name = PurePosixPath(path.rstrip("/")).name
    for suffix in (*COMPRESSIONS, *FORMATS):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def parse_eval(specs: list[str] | None) -> dict[str, str]:
    """`--eval PATH` or `--eval NAME=PATH` → {name: path}; names default to the file stem."""
    splits: dict[str, str] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or "/" in name or ":" in name or (not is_remote(spec) and _path_exists(spec)):
            name, path = split_name(spec) or "eval", spec  # `--eval .` has no name of its own
        if not path:
            raise InputError(f"--eval {spec!r}: give PATH or NAME=PATH")
        if name in splits:
            raise InputError(f"--eval: split name {name!r} used twice; name them with NAME=PATH")
        splits[name] = path
    return splits


def _path_exists(spec: str) -> bool:
    """Whether `spec` is an existing path as a whole (a file named `a=b.parquet`); a spec too
    long to be a file name (a long split name before `=`) is not one."""
    try:
        return Path(spec).exists()
    except OSError:
        return False


def parse_eval_text(specs: list[str] | None, splits: Mapping[str, object]) -> str | dict[str, str] | None:
    """`--eval-text COL` (every split) and `--eval-text NAME=COL` (one split) → the `eval_text`
    argument of `audit`: one column name, or {split: column} (a plain COL fills the others)."""
    if not specs:
        return None
    every: str | None = None
    per_split: dict[str, str] = {}
    for spec in specs:
        # A split's name may hold `=` itself (a Hive folder `split=val` named after its folder):
        # the longest split name the spec starts with, then `=`, is the split.
        named = max((n for n in splits if spec.startswith(f"{n}=")), key=len, default=None)
        name, sep, column = (named, "=", spec[len(named) + 1 :]) if named is not None else spec.partition("=")
        if not sep:
            if every is not None and every != spec:
                raise InputError(f"--eval-text: two columns for every split ({every!r}, {spec!r}); name one split with NAME=COL")
            every = spec
            continue
        if not splits:
            raise InputError(f"--eval-text {spec!r}: no --eval split to apply it to")
        if name not in splits:
            raise InputError(f"--eval-text {spec!r}: no eval split named {name!r}; splits are: {', '.join(splits)}")
        if not column:
            raise InputError(f"--eval-text {spec!r}: give COL or NAME=COL")
        if name in per_split:
            raise InputError(f"--eval-text: split {name!r} given twice")
        per_split[name] = column
    if not splits:
        raise InputError("--eval-text needs at least one --eval split")
    if not per_split:
        return every
    return {name: per_split.get(name, every) for name in splits if name in per_split or every is not None}
