"""A compressed file's stream, read as the command-line tools read it. gzip through Python's
own reader (zlib in C, about pyarrow's speed): like gzip(1) and Python's `gzip` it reads a file
of several gzip members, and one padded with zero bytes after its last (tape and block
devices, some writers), where pyarrow's reader stops at "unknown compression method". A file
whose name says gzip or zstd but whose bytes do not is named so, with the fix: rename it."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from ..errors import InputError

#: The first bytes of each compression's files.
MAGIC = {"gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}
_SUFFIX = {"gzip": ".gz", "zstd": ".zst"}


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


class _Gunzip(gzip.GzipFile):
    """Python's gzip reader with its failures in the words of the others: a file cut short is
    "truncated" (`remote.read_hint` adds how to get a whole one), bytes that are not gzip
    after the last member are named, with the fix."""

    def __init__(self, raw: Any, name: str) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self.name_shown, self.raw = name, raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.raw.close()

    def _checked(self, read: Any, *args: Any) -> Any:
        try:
            return read(*args)
        except EOFError:
            raise OSError("truncated gzip stream (it ends before its end-of-stream marker)") from None
        except gzip.BadGzipFile as e:
            if self.tell() == 0:
                raise not_compressed(self.name_shown, "gzip") from None
            raise InputError(
                f"{self.name_shown}: bytes that are not gzip follow the end of its gzip data ({e}); "
                f"rewrite it without them: zcat FILE | gzip > FIXED.gz (zcat reads the data and warns of the rest)"
            ) from None

    def seekable(self) -> bool:
        # A stream, read once from its start (a seek back would decompress it all again, and a
        # remote raw stream cannot seek).
        return False

    def read(self, size: int | None = -1) -> bytes:
        return self._checked(super().read, size)

    def read1(self, size: int = -1) -> bytes:
        return self._checked(super().read1, size)

    def peek(self, n: int) -> bytes:
        return self._checked(super().peek, n)

    def readinto(self, b: Any) -> int:
        return self._checked(super().readinto, b)

    def readline(self, size: int | None = -1) -> bytes:
        return self._checked(super().readline, size)


def gunzipped(raw: Any, name: str) -> Any:
    """`raw` (a stream of a gzip file's bytes, closed with it) decompressed: a binary file object,
    which pyarrow's readers take as they take their own streams."""
    return _Gunzip(raw, name)
