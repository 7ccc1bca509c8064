"""Train/eval leakage: each eval split streamed through the train indexes without joining them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputError
from ..sources import TEXT, Source, SourceLike, batches, choose_text_columns, open_source
from .result import EXAMPLES, Leakage, LeakExample

EvalSpec = Mapping[str, SourceLike] | Sequence[SourceLike] | SourceLike | None


def open_eval(eval: EvalSpec, columns: list[str]) -> dict[str, tuple[Source, str | None]]:
    """Eval splits by name: a mapping as given, else named by file stem."""
    if eval is None:
        return {}
    if isinstance(eval, Mapping):
        items = list(eval.items())
    else:
        specs = list(eval) if isinstance(eval, (list, tuple)) else [eval]
        items = [(_stem(spec, i), spec) for i, spec in enumerate(specs)]
    names = [name for name, _ in items]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(f"eval split name(s) used twice: {', '.join(duplicated)}; name them with --eval NAME=PATH")
    opened = {}
    for name, spec in items:
        source = open_source(spec)
        choose_text_columns(source.schema(), columns, f"eval split {name!r} ({source.description})")
        opened[name] = (source, str(spec) if isinstance(spec, (str, os.PathLike)) else None)
    return opened


def _stem(spec: SourceLike, index: int) -> str:
    if isinstance(spec, (str, os.PathLike)):
        return Path(spec).stem or f"eval{index}"
    return f"eval{index}"


def leakage(
    auditor: Any, eval_sources: dict[str, tuple[Source, str | None]], columns: list[str], batch_rows: int, near: bool
) -> tuple[dict[str, Leakage], pl.DataFrame]:
    report: dict[str, Leakage] = {}
    frames = []
    for name, (source, path) in eval_sources.items():
        auditor.eval_begin()
        for batch in batches(source, columns, None, batch_rows):
            if batch.height:
                auditor.eval_update(batch.get_column(TEXT))
        rows, exact, near_matches = auditor.eval_finish(exclude_exact=True)
        exact_frame = pl.DataFrame(
            {"eval_row": [e for e, _ in exact], "train_row": [t for _, t in exact]},
            schema={"eval_row": pl.UInt64, "train_row": pl.UInt64},
        ).with_columns(similarity=pl.lit(1.0), kind=pl.lit("exact"))
        near_frame = pl.DataFrame(
            {
                "eval_row": [m[0] for m in near_matches],
                "train_row": [m[1] for m in near_matches],
                "similarity": [m[2] for m in near_matches],
            },
            schema={"eval_row": pl.UInt64, "train_row": pl.UInt64, "similarity": pl.Float64},
        ).with_columns(kind=pl.lit("near"))
        matches = (
            pl.concat([exact_frame, near_frame])
            .with_columns(split=pl.lit(name))
            .select("split", "eval_row", "train_row", "similarity", "kind")
            .sort(["kind", "eval_row", "similarity", "train_row"], descending=[False, False, True, False])
        )
        frames.append(matches)
        near_rows = set(near_frame["eval_row"].to_list()) | set(exact_frame["eval_row"].to_list())  # exact ones included
        report[name] = Leakage(
            rows=rows,
            exact_in_train=exact_frame["eval_row"].n_unique(),
            near_in_train=len(near_rows) if near else None,
            examples=[
                LeakExample(int(r["eval_row"]), int(r["train_row"]), float(r["similarity"]))
                for r in matches.head(EXAMPLES).iter_rows(named=True)
            ],
            path=path,
        )
    return report, pl.concat(frames) if frames else pl.DataFrame()
