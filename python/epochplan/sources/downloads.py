"""Checked local copies of http(s) files: every http(s) file but a Parquet file from a server
with byte ranges is read from one (`download`), as polars' CSV, JSON lines and Arrow readers end
early without an error on a short range reply, and cannot read from a server without ranges.

A copy lives as long as the Python API call that made it (`holds_downloads`), or the process.
The Ray engine's workers read the driver's copy where they see it (`SharedCopy`: a worker on
the driver's machine), and download the file, counted against the size of the driver's copy,
where they do not: a file is fetched once per machine.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .. import interrupts, progress
from ..errors import InputError
from .remote import HINT, file_name, first_line


def http_open(url: str, headers: dict[str, str] | None = None, private: dict[str, str] | None = None) -> Any:
    """An http(s) response for `url` through urllib (a file-like object; close it). The request
    names the URL as polars' reader does (`request_url`), so that both read the same file.
    `private` headers (a token) follow a redirect to the same host only: another host (the
    Hub's CDN, by a signed URL) is not sent them."""
    import urllib.request

    request = urllib.request.Request(request_url(url), headers=headers or {})
    if not private:
        return urllib.request.urlopen(request, timeout=60)
    for key, value in private.items():
        request.add_unredirected_header(key.capitalize(), value)
    return urllib.request.build_opener(_same_host_redirect()(private)).open(request, timeout=60)


def _same_host_redirect() -> type:
    """urllib's redirect handler that sends a request's `private` headers on to its own host."""
    import urllib.parse
    import urllib.request

    class SameHostRedirect(urllib.request.HTTPRedirectHandler):
        def __init__(self, private: dict[str, str]) -> None:
            self.private = private

        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
            if new is not None and urllib.parse.urlsplit(new.full_url).netloc == urllib.parse.urlsplit(req.full_url).netloc:
                for key, value in self.private.items():
                    new.add_unredirected_header(key.capitalize(), value)
            return new

    return SameHostRedirect


def request_url(url: str) -> str:
    """An http(s) URL as its request names it, as polars' reader (and a browser) sends it: the
    path's and the query's raw spaces, non-ASCII letters and control characters percent-encoded
    as UTF-8, `%XX` escapes kept as written (not encoded twice). urllib sends the URL as given,
    and refuses a space ("can't contain control characters") or a letter past ASCII."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.quote(parts.path, safe="/%:@!$&'()*+,;=~")
    query = urllib.parse.quote(parts.query, safe="/?%:@!$&'()*+,;=~")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def range_probe(url: str, private: dict[str, str] | None = None) -> tuple[bool, int | None]:
    """Whether an http(s) server answers a byte-range request (`Range: bytes=0-0`) with that range,
    as polars' object-store reader needs (a plain file server, `python -m http.server`, sends the
    whole file instead), and the file's size its reply announces (`Content-Range: bytes 0-0/SIZE`,
    else None): what a download of the file is counted against. (True, None) when the request
    fails: the reader then names the failure."""
    try:
        with http_open(url, {"Range": "bytes=0-0"}, private) as response:
            if response.status != 206:
                return False, None
            total = re.fullmatch(r"\s*bytes\s+\d+-\d+/(\d+)\s*", response.headers.get("Content-Range", ""))
            return True, int(total.group(1)) if total else None
    except Exception:  # urllib raises HTTPError, URLError, OSError, ValueError …
        return True, None


_downloads: dict[str, Any] = {}  # URL -> local copy
_download_number = itertools.count(1)  # a fresh subfolder a download, failed ones too


_folder: str | None = None  # this process's downloads' temporary folder, while there are any
_folder_lock = threading.Lock()  # concurrent calls' first downloads make one folder, not two


def _download_folder() -> str:
    """The temporary folder of this process's downloads, removed when the process exits (or by
    `discard_downloads`). Registered with `interrupts.temporary`, which removes it at this
    process's exit and when a signal ends a command stuck in native code, and never at the exit of
    a child forked meanwhile (a `tempfile.TemporaryDirectory`'s finalizer ran in that child too,
    and removed the parent's copies under its reads)."""
    global _folder
    with _folder_lock:
        if _folder is None:
            import tempfile

            folder = tempfile.mkdtemp(prefix="epochplan-downloads-")
            interrupts.temporary(folder)
            _folder = folder
        return _folder


def _forget_in_child() -> None:
    """A forked child starts without its parent's downloads: its own are made in a folder of its
    own (numbered apart from the parent's), and its exit or `discard_downloads` removes only that.
    A copy it is already reading stays the parent's, removed by the parent."""
    global _folder, _folder_lock, _calls_lock
    _folder = None
    _downloads.clear()
    _folder_lock = threading.Lock()  # another thread may have held it at the fork
    _calls_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


def download(url: str, size: int | None = None, copied: int | None = None, private: dict[str, str] | None = None) -> Path:
    """A local copy of an http(s) file (a `pathlib.Path` named as the URL's file, so its suffix
    says its format), streamed to a temporary folder removed when the process exits, or when the
    Python API call that made it returns (`holds_downloads`); each URL is fetched once in that
    time. Its bytes are counted against the reply's `Content-Length` and the
    file's `size` a range reply announces (`range_probe`, asked here when `size` is None, before
    the first download of the URL only), and a chunked reply must end with its last chunk: urllib's reads end quietly when the server, or a
    proxy between, closes early, and half a file would be read as a whole one (a CSV of half the
    rows, exit 0). `copied`: the size of the Ray driver's copy, which a worker's download must
    match (no probe then: the driver's download was counted against it); `private`: headers sent
    to the URL's host only (`http_open`: the Hub's token). A file larger than the
    room left in the temporary folder is refused before its first byte is written, saying how
    much it needs and how to point TMPDIR elsewhere."""
    import http.client
    import urllib.error

    if url in _downloads:
        return _downloads[url]
    if size is None and copied is None:
        size = range_probe(url, private)[1]
    folder = Path(_download_folder()) / str(next(_download_number))
    folder.mkdir()
    target = folder / (file_name(url) or "download")
    expected = size
    try:
        with http_open(url, private=private) as response, open(target, "wb") as out:
            _refuse_transfer_gzip(url, response)
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else size
            _check_room(url, folder, max((n for n in (expected, size, copied) if n is not None), default=None))
            try:
                _copy_reporting(response, out, target.name, expected)
            except http.client.IncompleteRead as e:  # a chunked reply cut before its last chunk
                raise _short(url, out.tell() + len(e.partial), size) from None
        got = target.stat().st_size
        for announced in dict.fromkeys(n for n in (expected, size) if n is not None):
            if got < announced:
                raise _short(url, got, announced)
            if got > announced:
                raise InputError(
                    f"{url}: the download holds {got:,} bytes, not the {announced:,} the server announced; the file changed, run again"
                )
        if copied is not None and got != copied:
            raise InputError(
                f"{url}: a Ray worker's download holds {got:,} bytes, the driver's copy {copied:,}: the file changed on the "
                "server during the run, or the transfer ended early; run again"
            )
    except InputError:
        target.unlink(missing_ok=True)
        raise
    except OSError as e:  # urllib's errors are OSErrors, as is a full disk
        target.unlink(missing_ok=True)
        if isinstance(e, urllib.error.URLError) or not e.errno:  # the server's answer, or none
            raise InputError(f"{url}: cannot read it ({first_line(e)}); {HINT}") from None
        temp = folder.parent.parent  # the temporary folder, TMPDIR
        where = f"the download needs {expected:,} bytes in {temp}" if expected is not None else f"writing into {temp}"
        raise InputError(f"{url}: cannot download it ({first_line(e)}); {where}; {_ROOM}") from None
    _downloads[url] = target
    return target


#: How to give downloads a folder with room.
_ROOM = "set TMPDIR to a folder with room (export TMPDIR=/path/with/room), or download the file and audit the local copy"


def _check_room(url: str, folder: Path, size: int | None) -> None:
    """Refuse a download of `size` bytes into `folder` when its file system has less room:
    writing it until the disk is full took minutes, and the disk from everyone else."""
    if size is None:
        return
    free = free_bytes(folder)
    if free is not None and free < size:
        raise InputError(
            f"{url}: the download needs {size:,} bytes in {folder.parent.parent} (the temporary folder, TMPDIR), "
            f"which has {free:,} free; {_ROOM}"
        )


def free_bytes(folder: Path) -> int | None:
    """The bytes free for a file in `folder`, or None when the file system does not say."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _short(url: str, got: int, announced: int | None) -> InputError:
    of = f" of {announced:,}" if announced is not None else ""
    return InputError(
        f"{url}: the download ended after {got:,}{of} bytes: the server sent fewer bytes than it announced "
        "(it, or a proxy between, closed the connection early); run again"
    )


def _copy_reporting(response: Any, out: Any, name: str, size: int | None) -> None:
    """Copy the download to `out`, telling the running command's progress how far it is about
    once a second: a large file from a server without ranges is read whole before its first row."""
    shown = f" of {size / 1e6:,.0f} MB" if size is not None else " MB"
    done, reported = 0, float("-inf")
    try:
        while chunk := response.read(1 << 20):
            if time.monotonic() - reported >= 1.0:
                progress.report(f"downloading {name}: {done / 1e6:,.0f}{shown}")
                reported = time.monotonic()
            out.write(chunk)
            done += len(chunk)
    finally:
        progress.report(None)


def _refuse_transfer_gzip(url: str, response: Any) -> None:
    """A download the server gzip-compressed for the transfer (`Content-Encoding: gzip` on a
    file whose name says no gzip): its bytes are not the file's, and were read as text that is
    not UTF-8, or "not a Parquet file". A body that does not start as gzip does (Apache's
    AddEncoding on a file as it is) is the file."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip") and response.peek(2)[:2] == b"\x1f\x8b" and not file_name(url).lower().endswith(".gz"):
        raise InputError(
            f"{url}: the server sent the file gzip-encoded (Content-Encoding: gzip), which is not read here; "
            "download it (curl --compressed -o FILE URL) and audit the local file, or serve it unencoded"
        )


_calls_lock = threading.Lock()
_calls = 0  # calls of `holds_downloads` functions under way, in every thread


def holds_downloads(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (a command of the Python API) with the downloads it makes kept for its own
    time only: the first call's copy of a URL is not read by a later call (a notebook's URL
    whose file changed got its old numbers), and a long-lived process keeps no copy per URL on
    disk. Nested and concurrent calls share the copies until the last one returns."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        global _calls
        with _calls_lock:
            _calls += 1
        try:
            return function(*args, **kwargs)
        finally:
            with _calls_lock:
                _calls -= 1
                if _calls == 0:
                    discard_downloads()

    return call


def discard_downloads() -> None:
    """Remove every download of this process now, and its folder. For a Ray worker after each
    task: Ray ends its workers without the interpreter's exit, so the folder `download` leaves
    for the exit stayed in the temp folder, one full copy per file per run."""
    global _folder
    with _folder_lock:
        _downloads.clear()
        if _folder is not None:
            interrupts.remove_path(_folder)
            interrupts.forget(_folder)
            _folder = None


class SharedCopy(NamedTuple):
    """The driver's download of an http(s) file as a Ray task is given it: its path and what
    file it is (device and inode, size, modification time). A worker that sees that very file
    (on the driver's machine) reads it; any other downloads the URL itself, counted against the
    size of the driver's copy (so a file changed since is an error, not other rows), without a
    range probe of its own."""

    path: str
    size: int
    device: int
    inode: int
    modified_ns: int

    def here(self) -> bool:
        """Whether this process sees the driver's copy, unchanged (another machine may have a
        file at that path: not that file)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return False
        seen = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        return seen == (self.device, self.inode, self.size, self.modified_ns) and os.access(self.path, os.R_OK)


def shared_copy(url: str) -> SharedCopy | None:
    """This process's download of `url`, as Ray workers are told of it; None when there is none."""
    copy = _downloads.get(url)
    try:
        stat = copy.stat() if copy is not None else None
    except OSError:
        return None
    return None if stat is None else SharedCopy(str(copy), stat.st_size, stat.st_dev, stat.st_ino, stat.st_mtime_ns)


def local_copy(url: str, shared: SharedCopy) -> Path:
    """The file a Ray worker reads `url` from: the driver's copy where it sees it, else its own
    download of the URL, counted against the size of the driver's copy."""
    return Path(shared.path) if shared.here() else download(url, copied=shared.size)
