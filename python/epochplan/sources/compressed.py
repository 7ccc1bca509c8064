"""What is wrong with a compressed input, in one line with the fix: a file whose name says gzip
or zstd but whose bytes do not (rename it; a local file, an http(s) file's local copy too, is
checked before it is read, an object-store file once its reader fails), and gzip data followed by bytes that are not gzip
(zero padding, junk), where pyarrow's reader stops with zlib's "unknown compression method"
(rewrite it with zcat)."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from .paths import COMPRESSIONS, file_format
from .remote import filesystem, is_remote

#: The first bytes of each compression's files.
MAGIC = {"gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}
_SUFFIX = {compression: suffix for suffix, compression in COMPRESSIONS.items()}


def not_compressed(name: str, compression: str) -> InputError:
    suffix = _SUFFIX[compression]
    return InputError(
        f"{name}: not {compression}-compressed, though its name ends in {suffix} (its first bytes are not "
        f"{compression}'s); rename it without {suffix}, or compress it"
    )


def _is_compressed(head: bytes, compression: str) -> bool:
    """Whether a file's first bytes are `compression`'s (an empty file has none to check)."""
    skippable = compression == "zstd" and head[1:] == b"\x2a\x4d\x18" and 0x50 <= head[0] <= 0x5F  # a zstd skippable frame
    return not head or head == MAGIC[compression] or skippable


def check_magic(location: Path, compression: str) -> None:
    """A local file's first bytes against its compression's."""
    with open(location, "rb") as f:
        head = f.read(len(MAGIC[compression]))
    if not _is_compressed(head, compression):
        raise not_compressed(str(location), compression)


#: pyarrow's words for a compressed stream it could not decompress.
_DECOMPRESS = re.compile(r"zlib inflate failed|ZSTD decompress failed")


def object_store_fault(name: str, error: BaseException) -> InputError | None:
    """An object-store file (s3://, gs://, az://) its reader could not decompress, whose first
    bytes are not those of the compression its name says: named so (`not_compressed`), as a local
    file is before it is read, rather than "truncated or corrupt" or (gzip) "bytes that are not
    gzip follow its data". Asked on this error only (one request for the first bytes), not
    before each read. None for another failure, or when the first bytes cannot be read."""
    compression = file_format(name)[1]
    if compression not in MAGIC or not is_remote(name) or _DECOMPRESS.search(str(error)) is None:
        return None
    try:
        fs, path = filesystem(name)
        with fs.open_input_stream(path, compression=None) as stream:  # the bytes as they are, not by the suffix
            head = stream.read(len(MAGIC[compression]))
    except Exception:  # pyarrow raises OSError and others; the reader's own error stands
        return None
    return None if _is_compressed(head, compression) else not_compressed(name, compression)


#: zlib's words for gzip data it cannot inflate: pyarrow's gzip reader stops so where bytes that
#: are not gzip follow the data (zero padding, junk) and on a corrupt member.
_INFLATE = re.compile(r"zlib inflate failed: (unknown compression method|incorrect header check|invalid [a-z ]+)")


def gzip_fault(name: str, error: BaseException) -> InputError | None:
    """The one line for a gzip file pyarrow could not inflate, with the fix, or None for another
    failure. Its first bytes were gzip's (`check_magic`; `object_store_fault`, asked first), so what follows the data,
    or a later member, is not: gzip(1) and Python's `gzip` read the data before zero padding,
    pyarrow does not."""
    found = _INFLATE.search(str(error))
    if found is None or file_format(name)[1] != "gzip":
        return None
    return InputError(
        f"{name}: bytes that are not gzip follow the end of its gzip data, or it is corrupt ({found.group(0)}); "
        "rewrite it: zcat FILE | gzip > FIXED.gz (zcat reads the data and warns of the rest), or copy it again, whole"
    )
