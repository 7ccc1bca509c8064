"""Remote inputs: which URLs are remote, the object store that serves them, and the files a
remote glob or folder names.

Object stores are pyarrow's (`s3://`, `gs://`, `az://`): they list globs and folders and stream
files. An object-store URL's `%XX` escapes are decoded (`a%2Bb.parquet` is the key
`a+b.parquet`), and the objects a folder or a glob lists are named so that they decode back to
their own keys (`object_url`). `http(s)://` and `hf://` have no listing here; hf files and
http(s) Parquet files are read by polars' own object-store readers, other http(s) files, and
an hf CSV or TSV file (`hub.py`), from a checked local copy (`downloads.py`). Credentials and endpoints come from the usual environment of
each client (`AWS_*`, `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_*`, `HF_TOKEN`); nothing
is configured here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import InputError

#: Schemes read through pyarrow's filesystems (listing, globs, streaming).
OBJECT_STORES = ("s3", "gs", "gcs", "az", "abfs", "abfss")
#: Schemes read through polars only (no listing).
POLARS_ONLY = ("http", "https", "hf")
HINT = "check the URL and the credentials in the environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*, HF_TOKEN)"


def scheme_of(spec: str) -> str | None:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", spec)
    return match.group(1).lower() if match else None


def is_remote(spec: str | os.PathLike[str]) -> bool:
    """Whether `spec` is a URL (`scheme://…`) rather than a local path; unknown schemes are
    remote too, so that they are refused by name instead of read as a local path."""
    return isinstance(spec, str) and scheme_of(spec) is not None


def check_scheme(url: str) -> str:
    scheme = scheme_of(url)
    if scheme not in OBJECT_STORES + POLARS_ONLY:
        raise InputError(f"{url}: unsupported URL scheme {scheme}://; use s3://, gs://, az://, http(s):// or hf://")
    return scheme


def filesystem(url: str) -> tuple[Any, str]:
    """pyarrow's filesystem for an object-store URL and the object's path inside it (the
    bucket, then the key with its `%XX` escapes decoded: `object_path`). Only the bucket and the
    query reach pyarrow's URI parser: it would refuse a space, a non-ASCII letter or `[` in
    the key, cut it at `#` and take a `?` for a query."""
    import pyarrow.fs as pafs

    scheme = check_scheme(url)
    if scheme not in OBJECT_STORES:
        raise InputError(f"{url}: {scheme}:// has no listing; name the files one by one")
    bucket, _, query = _split(url)
    if not bucket:  # pyarrow would list the account's buckets as a folder
        raise InputError(f"{url}: no bucket in the URL; write {scheme}://BUCKET/PATH")
    try:
        if scheme == "az":
            # pyarrow names Azure URLs abfs://container@account…; az://container/path takes the
            # account from the environment, as polars and adlfs do.
            account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
            if not account:
                raise InputError(f"{url}: no Azure storage account; set AZURE_STORAGE_ACCOUNT_NAME (and a key or token)")
            return pafs.AzureFileSystem(account_name=account), object_path(url)
        fs, _ = pafs.FileSystem.from_uri(f"{_store_scheme(scheme)}://{bucket}{query}")
        return fs, object_path(url)
    except InputError:
        raise
    except Exception as e:  # pyarrow raises OSError/ArrowInvalid with multi-line messages
        raise InputError(f"{url}: cannot open the object store ({first_line(e)}); {HINT}") from None


def _store_scheme(scheme: str) -> str:
    return "gs" if scheme == "gcs" else scheme


def _split(url: str) -> tuple[str, str, str]:
    """An object-store URL's bucket, its key as written (escapes kept, no leading `/`) and its
    query (`?endpoint_override=…`, or "")."""
    after = url.index("://") + 3
    query = _query_start(url, after)
    bucket, _, key = url[after:query].partition("/")
    return bucket, key, url[query:]


def object_path(url: str) -> str:
    """The object an object-store URL names, as the stores list it: `bucket/key`, the key's
    `%XX` escapes decoded (`a%2Bb` is the key `a+b`, as pyarrow's URI parser reads it). Every
    object-store read and listing starts from this one decoding."""
    import urllib.parse

    bucket, key, _ = _split(url)
    return f"{bucket}/{urllib.parse.unquote(key)}" if key else bucket


def object_url(scheme: str, path: str) -> str:
    """The URL of a listed object (`bucket/key`, as the store names it) that `object_path`
    reads back as exactly that object: the key's `%` (escapes are decoded), `?` (a query), `*`
    and `[` `]` (a pattern) and control characters are written as `%XX`. Spaces, `#` and
    non-ASCII letters stay as they are, so the URL stays readable."""
    return f"{_store_scheme(scheme)}://" + re.sub(r"[%?*\[\]\x00-\x1f\x7f]", lambda m: f"%{ord(m.group()):02X}", path)


def file_name(location: object) -> str:
    """The file name a location ends in, as the user would call the file: an object's key with
    its escapes decoded (`object_url` writes `br[1].jsonl` as `br%5B1%5D.jsonl`), a URL's path
    without its query (a presigned `data.parquet?X-Amz-Signature=…`). The format is read from
    it, a download is saved under it, a folder output names its shards so."""
    from pathlib import PurePosixPath

    text = str(location)
    if is_remote(text):
        import urllib.parse

        scheme = scheme_of(text)
        text = object_path(text) if scheme in OBJECT_STORES else urllib.parse.unquote(urllib.parse.urlsplit(text).path)
    return PurePosixPath(text).name


def polars_url(url: str) -> str:
    """The URL polars' readers take for the object `url` names: they read a URL's key as
    written (no escapes decoded), so it is the decoded `object_path`, without the query."""
    return f"{_store_scheme(check_scheme(url))}://{object_path(url)}"


def canonical(url: str) -> str:
    """One spelling of an object-store URL, the same for every spelling of its object
    (`a+b` and `a%2Bb`), to tell a file given twice; other URLs as they are."""
    scheme = scheme_of(url)
    return object_url(scheme, object_path(url)) if scheme in OBJECT_STORES else url


# What follows a `?` that starts a query: `key=value` pairs joined by `&`, no more path.
_QUERY = re.compile(r"[A-Za-z_][\w.-]*=[^/&?*\[]*(?:&[A-Za-z_][\w.-]*=[^/&?*\[]*)*")


def _query_start(url: str, start: int) -> int:
    """Where the query of an object-store URL starts (its `?key=value…` end), searching from
    `start`; the URL's length when it has none."""
    for i in range(start, len(url)):
        if url[i] == "?" and _QUERY.fullmatch(url, i + 1):
            return i
    return len(url)


#: Readers' words for a file that ends early or whose bytes are not what its format says: a
#: truncated gzip/zstd stream, a Parquet file cut before its footer. Such a file was read; the
#: URL and the credentials are not what is wrong with it.
_TRUNCATED = re.compile(
    r"truncated|unexpected end of (file|stream|data)|unexpected eof|magic bytes not found|incorrect magic|"
    r"out of specification|corrupt|invalid (gzip|deflate|zstd|block|stored block|distance)|"
    r"unknown frame descriptor|premature end|ended early",
    re.IGNORECASE,
)


#: An http client's words for a reply whose body ended before its Content-Length (the server or
#: a proxy closed the connection).
_CUT = re.compile(r"request or response body error|error decoding response body|incomplete ?read|connection closed before", re.IGNORECASE)


def truncated(error: BaseException | str) -> bool:
    """Whether a reader's error says the file's bytes end early or are corrupt (`_TRUNCATED`), in
    its own words: not in a path or URL it quotes (`cifar10_corrupted/missing.parquet`, a 404)."""
    return _TRUNCATED.search(_PATHS.sub(" ", str(error))) is not None


#: A path or URL quoted in an error (a run of characters without spaces holding a slash).
_PATHS = re.compile(r"\S*[/\\]\S*")


def read_hint(name: str, error: BaseException | str) -> str:
    """What follows a reader's failure of `name` (with its `; `), or "": for a truncated or
    corrupt file, that it is and how to get a whole one; for another failure of a URL, where
    the URL's credentials and endpoints come from (`HINT`)."""
    if _CUT.search(str(error)) is not None:
        return "; the transfer ended early (the server, or a proxy between, closed the connection before the whole reply): run again"
    if truncated(error):
        where = "upload or download it again" if is_remote(name) else "copy or write it again"
        return f"; the file is truncated or corrupt (it ends early or its bytes are not its format's): {where}, whole"
    return f"; {HINT}" if is_remote(name) else ""


def first_line(error: BaseException) -> str:
    """The first line of a reader's error: polars and pyarrow messages can run to many lines."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """Whether a `/`-separated object path matches `pattern` as Python's `glob` (recursive) matches
    a local path, so that a pattern reads the same names in a bucket as on disk: each segment by
    `fnmatch` (`[!a]` negates, `^` and `]` first in a set are characters, `[z-a]` matches
    nothing), `**` as a whole segment any folders, names starting with `.` only by a segment that
    does too. `%XX` escapes are decoded, as in the rest of the URL, and match their characters
    literally (`%2A` is a `*` of the key)."""
    import fnmatch
    import urllib.parse

    # Decoded escapes wrapped in a set (`[*]`): characters, not a pattern's.
    literal = _ESCAPES.sub(lambda m: re.sub(r"[*?\[\]]", r"[\g<0>]", urllib.parse.unquote(m.group())), pattern)
    segments = [None if seg == "**" else (seg.startswith("."), re.compile(fnmatch.translate(seg)).match) for seg in literal.split("/")]

    def after_any_folders(positions: set[int]) -> set[int]:  # a `**` may match no folder
        for p in sorted(positions):
            while p < len(segments) and segments[p] is None:
                p += 1
                positions.add(p)
        return positions

    def matches(path: str) -> bool:
        positions = after_any_folders({0})  # the pattern's segments the path's names so far reach
        for name in path.split("/"):
            hidden, reached = name.startswith("."), set()
            for p in positions - {len(segments)}:
                segment = segments[p]
                if segment is None:  # `**` takes this folder too
                    if not hidden:
                        reached.add(p)
                elif (segment[0] or not hidden) and segment[1](name) is not None:
                    reached.add(p + 1)
            positions = after_any_folders(reached)
        return len(segments) in positions

    return matches


_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def list_remote(url: str, is_data_file: Callable[[str], bool]) -> list[str]:
    """The URLs `url` names: itself, a folder's data files (sorted, not recursive), or a glob's
    matches (sorted). http(s) and hf URLs are taken as they are (polars expands hf globs).
    Listed objects are named by `object_url`, which reads back as exactly that object. A folder
    without data files gives []."""
    import urllib.parse

    import pyarrow.fs as pafs

    scheme = check_scheme(url)
    if scheme in POLARS_ONLY:
        if scheme != "hf" and any(ch in url.split("?", 1)[0] for ch in "*["):
            raise InputError(f"{url}: http(s) cannot be listed, so globs do not work there; name each file")
        return [url]
    fs, path = filesystem(url)
    bucket, key, _ = _split(url)
    try:
        magic = [i for i, ch in enumerate(key) if ch in "*?["]  # as written: an escaped `%2A` is no pattern
        # A key that exists is itself, glob characters and all (`br[1].parquet`), as an existing
        # local path is; only a URL that names no object is a pattern.
        if magic and fs.get_file_info(path).type != pafs.FileType.File:
            cut = key.rfind("/", 0, magic[0])
            base = f"{bucket}/{urllib.parse.unquote(key[:cut])}" if cut >= 0 else bucket
            selector = pafs.FileSelector(base, recursive="**" in key or "/" in key[magic[0] :])
            matcher = glob_matcher(f"{bucket}/{key}")
            try:
                listed = fs.get_file_info(selector)
            except FileNotFoundError:  # no folder before the pattern, in a bucket that exists: no match, as locally
                listed = []
            matches = sorted(info.path for info in listed if info.is_file and matcher(info.path))
            if not matches:
                raise InputError(f"{url}: the pattern matches no object; check the pattern and quote it")
            return [object_url(scheme, m) for m in matches]
        info = fs.get_file_info(path.rstrip("/"))
        if info.type == pafs.FileType.File:
            return [url]
        if info.type == pafs.FileType.Directory:
            names = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(path.rstrip("/"))) if i.is_file and is_data_file(i.base_name))
            return [object_url(scheme, n) for n in names]  # none: the caller words the error and its hint
        raise InputError(f"{url}: no such object or folder{_ESCAPE_HINT if '%' in key else ''}; {HINT}")
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{url}: cannot list ({first_line(e)}); {HINT}") from None


_ESCAPE_HINT = " (its %XX escapes are decoded: write a % of the key itself as %25)"


#: Most folders listed for the hint of a folder without data files (`walk_remote`): a request each.
HINT_LISTINGS = 50


def walk_remote(url: str) -> Iterator[tuple[str, list[str], int]]:
    """An object-store folder and its subfolders, breadth first: (the folder's URL, its file
    names, the entries it lists), for the hint of a folder read that finds no data file of its
    own (a Hive layout keeps them in `year=2024/`). Hidden and `_`-prefixed folders are skipped;
    at most HINT_LISTINGS listings, and one that fails ends the walk (a hint, not a read)."""
    import pyarrow.fs as pafs

    scheme = check_scheme(url)
    fs, path = filesystem(url)
    queue = [path.rstrip("/")]
    for listed, folder in enumerate(queue):  # the queue grows as it goes
        if listed == HINT_LISTINGS:
            return
        try:
            infos = fs.get_file_info(pafs.FileSelector(folder))
        except Exception:  # pyarrow raises OSError and others; the read's own error stands
            return
        queue.extend(sorted(i.path for i in infos if i.type == pafs.FileType.Directory and not i.base_name.startswith((".", "_"))))
        yield object_url(scheme, folder), [i.base_name for i in infos if i.is_file], len(infos)
