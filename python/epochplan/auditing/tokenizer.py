"""The model's tokenizer in an audit: loading a `tokenizer.json` (with its provenance) before
any data is read, and the token statistics the core reports, exact or estimated."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from .._epochplan import TokenCounter
from ..errors import InputError, kind_of

#: How the audit counts tokens without a tokenizer: UTF-8 bytes / 4 per text, rounded up.
ESTIMATE = "UTF-8 bytes / 4 per sample, rounded up"


@dataclass(frozen=True)
class TokenizerFile:
    """Which tokenizer counted an audit's tokens: the path as given and the file's sha256. Plain
    data, as an `AuditResult` keeps it: a result is pickled (multiprocessing, Ray), and the
    core's counter cannot be."""

    path: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256}


@dataclass(frozen=True)
class Tokenizer:
    """A loaded `tokenizer.json`: the core's counter, the path as given and the file's sha256."""

    counter: TokenCounter
    path: str
    sha256: str

    @property
    def file(self) -> TokenizerFile:
        return TokenizerFile(self.path, self.sha256)

    def to_dict(self) -> dict[str, Any]:
        return self.file.to_dict()


def counted_by_tokenizer(estimated: bool | None, tokenizer: object | None) -> bool:
    """Whether an audit's token counts are a tokenizer's, not the bytes/4 estimate: its token
    lengths say (`estimated`); all-null text has none, and then whether a tokenizer was given.
    The terminal and the Markdown label their numbers with it."""
    return tokenizer is not None if estimated is None else not estimated


def load_tokenizer(tokenizer: str | os.PathLike[str] | Tokenizer | None) -> Tokenizer | None:
    """Load (and so validate) a tokenizer file, or the tokenizer.json of a model folder; a
    loaded one is returned as it is. A missing, unreadable or invalid file is an InputError
    naming it."""
    if tokenizer is None or isinstance(tokenizer, Tokenizer):
        return tokenizer
    if not isinstance(tokenizer, (str, os.PathLike)) or not str(tokenizer):
        # A loaded tokenizer object is named by its type: its repr is its whole vocabulary.
        given = repr(tokenizer) if isinstance(tokenizer, (str, os.PathLike)) else f"a {kind_of(tokenizer)}"
        raise InputError(f"tokenizer={given}: give the path of the model's tokenizer.json")
    path = _tokenizer_file(os.fspath(tokenizer))
    counter = TokenCounter(path)  # reads and parses the file; its errors name it
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"cannot read tokenizer file {path}: {exc.strerror or exc}") from None
    return Tokenizer(counter, path, digest.hexdigest())


#: The file a model folder keeps its fast tokenizer in (what `save_pretrained` writes).
TOKENIZER_FILE = "tokenizer.json"


def _tokenizer_file(path: str) -> str:
    """`path`, or the tokenizer.json inside it when it is a model folder (as `from_pretrained`
    takes one); a folder without one is an InputError saying how to write it."""
    if not os.path.isdir(path):
        return path
    inside = os.path.join(path, TOKENIZER_FILE)
    if os.path.exists(inside):
        return inside
    raise InputError(
        f"tokenizer folder {path} has no {TOKENIZER_FILE} (only a fast tokenizer's file is read): "
        f"write one with transformers' AutoTokenizer.from_pretrained(...).save_pretrained(FOLDER), "
        f"or give the file's path"
    )


@dataclass(frozen=True)
class TokenLengthStats:
    """Per-sample token lengths of the non-null texts (nearest-rank quantiles), counted with the
    tokenizer, or the labelled estimate (`estimated`, UTF-8 bytes / 4 per sample) without one.

    `histogram`: `[[lo, hi, samples], ...]` power-of-two bins. `unique_lengths`: `[[length,
    samples], ...]` of the unique samples (near representatives when near detection ran, else
    exact ones), every length that occurs, ascending: the planner counts truncation and packing
    from it exactly for any sequence length."""

    mean: float
    p50: int
    p90: int
    p99: int
    max: int
    total: int
    estimated: bool
    tokenizer: str | None
    histogram: list[tuple[int, int, int]]
    unique_lengths: list[tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.max,
            "total": self.total,
            "estimated": self.estimated,
            "tokenizer": self.tokenizer,
            "histogram": [list(b) for b in self.histogram],
            "unique_lengths": [list(b) for b in self.unique_lengths],
        }


def token_stats(tokens: dict[str, Any], tokenizer: TokenizerFile | None) -> TokenLengthStats | None:
    """The typed statistics of the core's token report (None when every text is null)."""
    lengths = tokens["lengths"]
    if lengths is None:
        return None
    return TokenLengthStats(
        mean=lengths["mean"],
        p50=lengths["p50"],
        p90=lengths["p90"],
        p99=lengths["p99"],
        max=lengths["max"],
        total=lengths["total"],
        estimated=tokens["estimated"],
        tokenizer=None if tokenizer is None else tokenizer.path,
        histogram=[tuple(b) for b in tokens["histogram"]],
        unique_lengths=[tuple(b) for b in tokens["unique_lengths"]],
    )
