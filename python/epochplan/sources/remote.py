"""Remote inputs: which URLs are remote, the object store that serves them, and the files a
remote glob or folder names.

Object stores are pyarrow's (`s3://`, `gs://`, `az://`): they list globs and folders and stream
files. `http(s)://` and `hf://` have no listing here and are read by polars' own object-store
readers. Credentials and endpoints come from the usual environment of each client (`AWS_*`,
`GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_*`, `HF_TOKEN`); nothing is configured here.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Callable
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
    """pyarrow's filesystem for an object-store URL and the path inside it."""
    import pyarrow.fs as pafs

    scheme = check_scheme(url)
    if scheme not in OBJECT_STORES:
        raise InputError(f"{url}: {scheme}:// has no listing; name the files one by one")
    try:
        if scheme == "az":
            # pyarrow names Azure URLs abfs://container@account…; az://container/path takes the
            # account from the environment, as polars and adlfs do.
            account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
            if not account:
                raise InputError(f"{url}: no Azure storage account; set AZURE_STORAGE_ACCOUNT_NAME (and a key or token)")
            return pafs.AzureFileSystem(account_name=account), url.split("://", 1)[1]
        if scheme == "gcs":
            url = "gs://" + url.split("://", 1)[1]
        glob = _glob_start(url)
        if glob is not None:  # pyarrow would take `?` for a query and refuse `[`: the pattern stays out
            cut = url.rfind("/", 0, glob)
            query = _query_start(url, glob)  # the store's options (`?endpoint_override=…`) go with it
            fs, base = pafs.FileSystem.from_uri(url[:cut] + url[query:])
            return fs, base + url[cut:query]
        return pafs.FileSystem.from_uri(url)
    except InputError:
        raise
    except Exception as e:  # pyarrow raises OSError/ArrowInvalid with multi-line messages
        raise InputError(f"{url}: cannot open the object store ({first_line(e)}); {HINT}") from None


# What follows a `?` that starts a query: `key=value` pairs joined by `&`, no more path.
_QUERY = re.compile(r"[A-Za-z_][\w.-]*=[^/&?*\[]*(?:&[A-Za-z_][\w.-]*=[^/&?*\[]*)*")


def _glob_start(url: str) -> int | None:
    """Where the glob pattern of an object-store URL starts (its first `*`, `[` or `?`), or None.
    A `?` that ends the URL with `key=value` pairs is a query (pyarrow's `?endpoint_override=…`),
    not a pattern; one followed by more of the path (`part-?/year=2024/*`) is a pattern."""
    after_scheme = url.index("://") + 3
    for i in range(after_scheme, len(url)):
        if url[i] in "*[" or (url[i] == "?" and not _QUERY.fullmatch(url, i + 1)):
            return i if url.rfind("/", after_scheme, i) > 0 else None  # in the bucket's name: not a pattern
    return None


def _query_start(url: str, start: int) -> int:
    """Where the query of an object-store URL starts (its `?key=value…` end), searching from
    `start`; the URL's length when it has none."""
    for i in range(start, len(url)):
        if url[i] == "?" and _QUERY.fullmatch(url, i + 1):
            return i
    return len(url)


def serves_ranges(url: str) -> bool:
    """Whether an http(s) server answers a byte-range request (`Range: bytes=0-0`) with that range,
    as polars' object-store reader needs; a plain file server (`python -m http.server`) sends the
    whole file instead. True when the request fails: the reader then names the failure."""
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=0-0"}), timeout=60) as response:
            return response.status == 206
    except Exception:  # urllib raises HTTPError, URLError, OSError, ValueError …
        return True


_downloads: dict[str, Any] = {}  # URL -> local copy
_download_number = itertools.count(1)  # a fresh subfolder a download, failed ones too


@functools.cache
def _download_folder() -> Any:
    """The temporary folder of this process's downloads, removed when the process exits."""
    import tempfile

    return tempfile.TemporaryDirectory(prefix="epochplan-downloads-")


def download(url: str) -> Any:
    """A local copy of an http(s) file (a `pathlib.Path` named as the URL's file, so its suffix
    says its format), streamed to a temporary folder removed when the process exits; each URL is
    fetched once a process. For servers without byte ranges (`serves_ranges`), where polars
    cannot read and a Parquet file cannot be read as a stream."""
    import shutil
    import urllib.error
    import urllib.parse
    import urllib.request
    from pathlib import Path

    if url in _downloads:
        return _downloads[url]
    folder = Path(_download_folder().name) / str(next(_download_number))
    folder.mkdir()
    target = folder / (Path(urllib.parse.urlsplit(url).path).name or "download")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
            expected = response.headers.get("Content-Length")
        # urllib's reads end quietly when the server closes early: half a file would be read as
        # a whole one (a CSV of half the rows, exit 0).
        got = target.stat().st_size
        if expected is not None and expected.isdigit() and got != int(expected):
            raise InputError(f"{url}: the download ended after {got:,} of {int(expected):,} bytes (the server closed); try again")
    except InputError:
        target.unlink(missing_ok=True)
        raise
    except OSError as e:  # urllib's errors are OSErrors, as is a full disk
        target.unlink(missing_ok=True)
        remote = isinstance(e, urllib.error.URLError) or not e.errno
        where = HINT if remote else f"writing into {folder.parent}; set TMPDIR to a folder with room"
        raise InputError(f"{url}: cannot download it ({first_line(e)}); {where}") from None
    _downloads[url] = target
    return target


def discard_downloads() -> None:
    """Remove every download of this process now, and its folder. For a Ray worker after each
    task: Ray ends its workers without the interpreter's exit, so the folder `download` leaves
    for the exit stayed in the temp folder, one full copy per file per run."""
    _downloads.clear()
    if _download_folder.cache_info().currsize:
        _download_folder().cleanup()
        _download_folder.cache_clear()


def first_line(error: BaseException) -> str:
    """The first line of a reader's error: polars and pyarrow messages can run to many lines."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over '/'-separated keys: `**` crosses folders, `*` and `?` do not."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def list_remote(url: str, is_data_file: Callable[[str], bool]) -> list[str]:
    """The URLs `url` names: itself, a folder's data files (sorted, not recursive), or a glob's
    matches (sorted). http(s) and hf URLs are taken as they are (polars expands hf globs)."""
    import pyarrow.fs as pafs

    scheme = check_scheme(url)
    if scheme in POLARS_ONLY:
        if scheme != "hf" and any(ch in url.split("?", 1)[0] for ch in "*["):
            raise InputError(f"{url}: http(s) cannot be listed, so globs do not work there; name each file")
        return [url]
    fs, path = filesystem(url)
    prefix = ("gs" if scheme == "gcs" else scheme) + "://"
    try:
        if any(ch in path for ch in "*?["):
            first_magic = min(i for i, ch in enumerate(path) if ch in "*?[")
            base = path[: path.rfind("/", 0, first_magic)]
            selector = pafs.FileSelector(base, recursive="**" in path or "/" in path[first_magic:])
            regex = _glob_regex(path)
            matches = sorted(info.path for info in fs.get_file_info(selector) if info.is_file and regex.match(info.path))
            if not matches:
                raise InputError(f"{url}: the pattern matches no object; check the pattern and quote it")
            return [prefix + m for m in matches]
        info = fs.get_file_info(path.rstrip("/"))
        if info.type == pafs.FileType.File:
            return [url]
        if info.type == pafs.FileType.Directory:
            names = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(path.rstrip("/"))) if i.is_file and is_data_file(i.base_name))
            if not names:
                raise InputError(f"{url}: folder has no data file")
            return [prefix + n for n in names]
        raise InputError(f"{url}: no such object or folder; {HINT}")
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{url}: cannot list ({first_line(e)}); {HINT}") from None
