"""Command-line options shared by the commands that read a dataset (audit, check, dedup), and
the parsers behind them. One declaration each, so the flags mean the same everywhere."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import InputError


class NormalizeMode(str, Enum):
    default = "default"
    none = "none"


class ShingleKind(str, Enum):
    auto = "auto"
    word = "word"
    char = "char"


class ClusteringKind(str, Enum):
    representative = "representative"
    components = "components"


DataArgument = Annotated[list[str], typer.Argument(help="Parquet/JSONL/CSV file(s), folder(s) or quoted glob pattern(s).")]
TextOption = Annotated[
    Optional[list[str]],
    typer.Option("--text", "-t", help="Text column; repeat to join several with a newline. Default: text, content, prompt, "
                 "instruction, or the only string column."),
]
LabelOption = Annotated[Optional[str], typer.Option("--label", "-l", help="Label column (label statistics, conflicting labels).")]
NormalizeOption = Annotated[
    NormalizeMode, typer.Option(help="default = NFKC + lowercase + collapsed whitespace; none = raw bytes.")
]
NearOption = Annotated[bool, typer.Option("--near/--no-near", help="Near-duplicate detection (MinHash-LSH).")]
ThresholdOption = Annotated[float, typer.Option("--threshold", help="Jaccard similarity of near duplicates.")]
NgramOption = Annotated[int, typer.Option("--ngram", help="Words per word shingle.")]
CharNgramOption = Annotated[Optional[int], typer.Option("--char-ngram", help="Characters per char shingle (default 3; "
                            "with --shingle char: --ngram, as before).")]
ShingleOption = Annotated[ShingleKind, typer.Option("--shingle", help="auto = char n-grams for text in scripts written without "
                          "spaces (Chinese, Japanese, Thai …), word n-grams otherwise; word; char (code, short text).")]
ClusteringOption = Annotated[ClusteringKind, typer.Option("--clustering", help="representative = every member verified similar to "
                             "its cluster's representative; components = connected components of links (chains).")]
NumPermOption = Annotated[int, typer.Option("--num-perm", help="MinHash slots per sketch.")]
MemoryBudgetOption = Annotated[
    Optional[str],
    typer.Option("--memory-budget", help="Memory for near-duplicate sketches before spilling to temp files, e.g. 512MB, 2GB "
                 "(default: a quarter of RAM, at most 1 GiB)."),
]
EvalOption = Annotated[
    Optional[list[str]],
    typer.Option("--eval", help="Eval split to check for leakage: PATH or NAME=PATH (repeatable; name defaults to the file stem)."),
]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 1024, "m": 1e6, "mb": 1e6, "mib": 1024**2, "g": 1e9, "gb": 1e9,
          "gib": 1024**3, "t": 1e12, "tb": 1e12, "tib": 1024**4}


def parse_size(text: str | None, option: str = "--memory-budget") -> int | None:
    """'512MB', '2GiB', '1e9' or a plain number of bytes."""
    if text is None:
        return None
    match = _SIZE.match(text.replace("_", ""))
    if match is None:
        try:
            return int(float(text))
        except ValueError:
            raise InputError(f"{option} {text!r}: not a size; write e.g. 512MB, 2GB or a number of bytes") from None
    number, unit = match.groups()
    factor = _UNITS.get((unit or "").lower())
    if factor is None:
        raise InputError(f"{option} {text!r}: unknown unit; use B, KB, MB, GB, TB (or KiB, MiB, GiB)")
    return int(float(number) * factor)


def parse_eval(specs: list[str] | None) -> dict[str, str]:
    """`--eval PATH` or `--eval NAME=PATH` → {name: path}; names default to the file stem."""
    splits: dict[str, str] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or "/" in name or Path(spec).exists():
            name, path = Path(spec).stem, spec
        if not path:
            raise InputError(f"--eval {spec!r}: give PATH or NAME=PATH")
        if name in splits:
            raise InputError(f"--eval: split name {name!r} used twice; name them with NAME=PATH")
        splits[name] = path
    return splits
