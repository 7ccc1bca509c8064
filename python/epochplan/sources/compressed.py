"""What is wrong with a compressed input, in one line with the fix: a file whose name says gzip
or zstd but whose bytes do not (rename it), and gzip data followed by bytes that are not gzip
(zero padding, junk), where pyarrow's reader stops with zlib's "unknown compression method"
(rewrite it with zcat)."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from .paths import COMPRESSIONS, file_format

#: The first bytes of each compression's files.
MAGIC = {"gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}
_SUFFIX = {compression: suffix for suffix, compression in COMPRESSIONS.items()}


def not_compressed(name: str, compression: str) -> InputError:
    suffix = _SUFFIX[compression]
    return InputError(
        f"{name}: not {compression}-compressed, though its name ends in {suffix} (its first bytes are not "
        f"{compression}'s); rename it without {suffix}, or compress it"
    )


def check_magic(location: Path, compression: str) -> None:
    """A local file's first bytes against its compression's (an empty file has none to check)."""
    with open(location, "rb") as f:
        head = f.read(len(MAGIC[compression]))
    skippable = compression == "zstd" and head[1:] == b"\x2a\x4d\x18" and 0x50 <= head[0] <= 0x5F  # a zstd skippable frame
    if head and head != MAGIC[compression] and not skippable:
        raise not_compressed(str(location), compression)


#: zlib's words for gzip data it cannot inflate: pyarrow's gzip reader stops so where bytes that
#: are not gzip follow the data (zero padding, junk) and on a corrupt member.
_INFLATE = re.compile(r"zlib inflate failed: (unknown compression method|incorrect header check|invalid [a-z ]+)")


def gzip_fault(name: str, error: BaseException) -> InputError | None:
    """The one line for a gzip file pyarrow could not inflate, with the fix, or None for another
    failure. Its first bytes were gzip's (`check_magic`, local files), so what follows the data,
    or a later member, is not: gzip(1) and Python's `gzip` read the data before zero padding,
    pyarrow does not."""
    found = _INFLATE.search(str(error))
    if found is None or file_format(name)[1] != "gzip":
        return None
    return InputError(
        f"{name}: bytes that are not gzip follow the end of its gzip data, or it is corrupt ({found.group(0)}); "
        "rewrite it: zcat FILE | gzip > FIXED.gz (zcat reads the data and warns of the rest), or copy it again, whole"
    )
