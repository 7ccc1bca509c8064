"""Train/eval leakage: each eval split streamed through the train indexes without joining them."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError, naming_input, option, shown, without_secrets
from ..sources import TEXT, Source, SourceLike, batches, choose_text_columns, is_dataset_dict, open_source, split_name
from ..sources.paths import file_key, shard_pattern, splits_apart
from .exact_verify import give_back_rows
from .result import EXAMPLES, Leakage, LeakExample
from .text_choice import ConversationChoice

EvalSpec = Mapping[str, SourceLike] | Sequence[SourceLike] | SourceLike | None
#: The eval text column(s): one for every split, or {split name: column(s)}; None = train's.
EvalText = str | Sequence[str] | Mapping[str, str | Sequence[str]] | None
#: An opened eval split: its source, its path (for the report) and its text columns.
EvalSplit = tuple[Source, str | None, list[str]]


def _columns_of(text: str | Sequence[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)


def eval_columns(eval_text: EvalText, names: list[str], train_columns: list[str]) -> dict[str, list[str]]:
    """Each split's text columns: from `eval_text` (one for all, or per split), else train's."""
    if eval_text is None:
        return {name: train_columns for name in names}
    if not isinstance(eval_text, Mapping):
        return {name: _columns_of(eval_text) for name in names}
    unknown = [name for name in eval_text if name not in names]
    if unknown:
        raise InputError(f"eval_text names split {unknown[0]!r}, which is not an eval split; splits are: {', '.join(names) or '(none)'}")
    return {name: _columns_of(eval_text[name]) if name in eval_text else train_columns for name in names}


def eval_splits(eval: EvalSpec, eval_text: EvalText = None) -> list[tuple[str, SourceLike]]:
    """(name, data) of each eval split (`named_splits`), their names checked: before any data is
    read. Its leakage candidates' texts and example rows are read again: read an Arrow stream
    once (`arrow_once`) before opening it, and run a LazyFrame's source once (`Source.run_once`)."""
    if eval is None:
        if eval_text is not None:
            raise InputError("eval_text given without any eval split")
        return []
    items = named_splits(eval)
    names = [name for name, _ in items]
    odd = next((name for name in names if not isinstance(name, str)), None)
    if odd is not None:
        # A split's name is a string in every report (the leaks' `split` column, the JSON's keys):
        # an int key made that column an int, or failed after the whole audit beside a string one.
        raise InputError(f"eval split name {odd!r} ({type(odd).__name__}): name eval splits with strings, e.g. {{{str(odd)!r}: data}}")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(f"eval split name(s) used twice: {', '.join(duplicated)}; name them with --eval NAME=PATH")
    return items


def open_eval(items: list[tuple[str, SourceLike]], columns: list[str], eval_text: EvalText = None) -> dict[str, EvalSplit]:
    """The eval splits (`eval_splits`) by name, opened, each with its text columns checked."""
    per_split = eval_columns(eval_text, [name for name, _ in items], columns)
    opened = {}
    for name, spec in items:
        with _naming_split(name):  # this split's files, not train's
            source = open_source(spec)
            source.check_columns(per_split[name])
            where = f"eval split {name!r} ({source.description})"
            try:
                choose_text_columns(source.schema(), per_split[name], where, flag="--eval-text")
            except InputError as e:
                if eval_text is not None and not (isinstance(eval_text, Mapping) and name not in eval_text):
                    raise
                # train's text columns, which this split lacks (another chat layout): say how to name its own
                raise InputError(f"{e}{_eval_text_hint(source, where, name, len(items))}") from None
        # The report's path of the split: a URL's secrets masked, as every path a report shows.
        path = without_secrets(str(spec)) if isinstance(spec, (str, os.PathLike)) else None
        opened[name] = (source, path, per_split[name])
    return opened


@contextmanager
def _naming_split(name: str) -> Iterator[None]:
    """An `InputError` opening eval split `name` (a missing file, mixed file types, a column some
    files lack) names the split, once: one that names it already is left as it is."""
    try:
        yield
    except InputError as e:
        if e.args and isinstance(e.args[0], str) and f"eval split {name!r}" not in e.args[0]:
            e.args = (f"eval split {name!r}: {e.args[0]}", *e.args[1:])
        raise


def without_train(
    data: SourceLike, eval: EvalSpec, items: list[tuple[str, SourceLike]], eval_text: EvalText
) -> tuple[list[tuple[str, SourceLike]], EvalText, list[str]]:
    """The eval splits less those that are the train data (and `eval_text` less their names),
    and a warning for each left out: every row of such a split would count as leaked. In a
    `DatasetDict` (`eval=hf_dict`) or a mapping, the split that is the train object itself is
    left out, and so is a `DatasetDict`'s `train` split (the train data, or the data it was
    drawn from; a dict the caller made names its splits on purpose and keeps it); the train
    object given as the eval split, or as every split, is refused."""
    named = isinstance(eval, Mapping) or is_dataset_dict(eval)
    # A `datasets.DatasetDict` itself (not a dict the caller made of its splits, which names them on purpose).
    hf_dict = any(cls.__name__ == "DatasetDict" for cls in type(eval).__mro__)
    kept, left = [], []
    for name, spec in items:
        if spec is data and not isinstance(spec, (str, os.PathLike)):  # a path: its files are compared (`refuse_shared_files`)
            if not named:
                raise InputError(
                    "eval: the eval split is the train data itself, so every row would count as leaked; pass the eval split(s) only"
                )
            left.append((name, "is the train data itself", ""))
        elif hf_dict and name == "train":
            why = "is the DatasetDict's train split (the train data, or the data it was drawn from)"
            left.append((name, why, "; to check against it all the same, pass the splits as a dict: eval={'train': d['train'], ...}"))
        else:
            kept.append((name, spec))
    if left and not kept:
        raise InputError(
            f"eval: its split(s) {', '.join(repr(n) for n, _, _ in left)} are the train data, and it has no other; pass the eval split(s) only"
        )
    warnings = [f"eval split {name!r} left out: it {why}, so every row of it would count as leaked{advice}" for name, why, advice in left]
    if left and isinstance(eval_text, Mapping):
        eval_text = {name: column for name, column in eval_text.items() if name not in {n for n, _, _ in left}}
    return kept, eval_text, warnings


def refuse_shared_files(train: Source, eval_sources: Mapping[str, EvalSplit]) -> None:
    """Refuse an eval split whose file is also a train file (a folder read holds the test
    shards, `--eval` is the train file itself): every row of it would count as leaked. A
    different file with the same rows is leakage, and counted."""
    keys = {file_key(path): path for path in train.paths}
    for name, (source, _, _) in eval_sources.items():
        for path in source.paths:
            also = keys.get(file_key(path))
            if also is not None:
                spelled = "" if also == path else f" (as {shown(without_secrets(also))})"
                raise InputError(
                    f"eval split {name!r}: {shown(without_secrets(path))} is also a train file{spelled}, so every row of it would "
                    f"count as leaked; give train's files and the eval split's apart{_apart_hint(train.paths, path)}"
                )


def _apart_hint(train_paths: Sequence[str], shared: str) -> str:
    """How to give a split's shards apart from train's, when they are named as splits (the
    Hugging Face Hub's `data/train-00000-of-00002.parquet`, `data/test-00000-of-00001.parquet`)."""
    shard = shard_pattern(shared)
    trains = [found for path in train_paths if (found := shard_pattern(path)) is not None and found[0] == "train"]
    if shard is None or shard[0] == "train" or not trains:
        return " (a folder or a pattern given as train reads every file it holds)" if len(train_paths) > 1 else ""
    # The words of the mixed-splits warning: `'train-*' --eval 'test-*'`, in the API `'train-*' with eval=['test-*']`.
    return f", e.g. {splits_apart({'train': [shown(without_secrets(trains[0][1]))], shard[0]: [shown(without_secrets(shard[1]))]})[1]}"


def _eval_text_hint(source: Source, where: str, name: str, splits: int) -> str:
    """How to give an eval split its own text column: the one it would be audited on alone."""
    try:
        gives_way = ConversationChoice.of(source)
        own = choose_text_columns(
            source.schema(), None, where, typed=source.typed_schema(), index=source.index_columns(), gives_way=gives_way
        )
    except InputError:
        own = []
    if len(own) != 1:  # a placeholder, which the API's words give as `eval_text=COL`
        return f" (give the eval split's column with {option('--eval-text', 'COL' if splits == 1 else {name: 'COL'}, placeholder=True)})"
    return f" (give the eval split's column with {option('--eval-text', own[0] if splits == 1 else {name: own[0]})})"


def named_splits(eval: EvalSpec) -> list[tuple[str, SourceLike]]:
    """(name, data) of each eval split: a mapping's (or a `datasets.DatasetDict`'s) names, else
    each path's file stem."""
    if eval is None:
        return []
    if isinstance(eval, Mapping) or is_dataset_dict(eval):
        return list(eval.items())
    specs = list(eval) if isinstance(eval, (list, tuple)) else [eval]
    return [(_stem(spec, i), spec) for i, spec in enumerate(specs)]


def _stem(spec: SourceLike, index: int) -> str:
    if isinstance(spec, (str, os.PathLike)):
        return split_name(str(spec)) or f"eval{index}"
    return f"eval{index}"


def leakage(
    auditor: Any, eval_sources: dict[str, EvalSplit], batch_rows: int, near: bool, train: tuple[Source, list[str]] | None = None
) -> tuple[dict[str, Leakage], pl.DataFrame]:
    """Each eval split's exact and near matches in train. `train`: the train input and its text
    columns, read again for the texts of candidate rows under verify="exact"."""
    report: dict[str, Leakage] = {}
    frames = []
    for name, (source, path, columns) in eval_sources.items():
        auditor.eval_begin()
        where = f"eval split {name!r} ({source.description})"
        with naming_input(where, columns=columns):
            start = nulls = 0
            for batch in batches(source, columns, None, batch_rows):
                nulls += batch.get_column(TEXT).null_count()
                if batch.height:
                    # The extension numbers a bad row in its batch: named in the split (and its file).
                    with naming_input(where, source.locate_row, columns, first_row=start):
                        auditor.eval_update(batch.get_column(TEXT))
                start += batch.height
            candidates = auditor.eval_exact_rows()
            if candidates is not None:
                give_back_rows(
                    candidates[0], source, columns, batch_rows, lambda rows, texts: auditor.eval_add_exact_texts("eval", rows, texts)
                )
        if candidates is not None:
            if train is None:
                raise InputError("verify='exact' leakage needs the train input to read again")
            with naming_input(train[0].description):
                give_back_rows(candidates[1], *train, batch_rows, lambda rows, texts: auditor.eval_add_exact_texts("train", rows, texts))
        rows, exact, near_matches = auditor.eval_finish(exclude_exact=True)
        exact_frame = pl.DataFrame(
            {"eval_row": [e for e, _ in exact], "train_row": [t for _, t in exact]},
            schema={"eval_row": pl.UInt64, "train_row": pl.UInt64},
        ).with_columns(similarity=pl.lit(1.0), kind=pl.lit("exact"))
        near_frame = near_columns(near_matches).with_columns(kind=pl.lit("near"))
        # Exact matches first, then near, each by eval row (near ones best first, then by train row):
        # the order the core gives them in, so no sort of what may be millions of pairs.
        matches = (
            pl.concat([exact_frame, near_frame])
            .with_columns(split=pl.lit(name))
            .select("split", "eval_row", "train_row", "similarity", "kind")
        )
        frames.append(matches)
        near_rows = pl.concat([near_frame["eval_row"], exact_frame["eval_row"]]).n_unique()  # exact ones included
        report[name] = Leakage(
            rows=rows,
            null_rows=nulls,
            exact_in_train=exact_frame["eval_row"].n_unique(),
            near_in_train=near_rows if near else None,
            examples=[
                LeakExample(int(r["eval_row"]), int(r["train_row"]), float(r["similarity"]), kind=r["kind"])
                for r in matches.head(EXAMPLES).iter_rows(named=True)
            ],
            path=path,
            text_columns=list(columns),
        )
    return report, pl.concat(frames) if frames else pl.DataFrame()


def leaked_unique(leaks: pl.DataFrame, near_ids: np.ndarray | None) -> tuple[int, int | None]:
    """(exact, near): the exact clusters whose representative an eval row equals (an exact match
    names it), and the near clusters (None without near detection) holding a train row an eval
    row matches, exactly or near: the unique samples `dedup --eval` drops at each level."""
    if leaks.height == 0:
        return 0, None if near_ids is None else 0
    exact = leaks.filter(pl.col("kind") == "exact")["train_row"].n_unique()
    near = None if near_ids is None else int(np.unique(near_ids[leaks["train_row"].to_numpy()]).size)
    return exact, near


def near_columns(columns: tuple[bytes, bytes, bytes]) -> pl.DataFrame:
    """The core's near matches (three little-endian columns) as a frame."""
    eval_rows, train_rows, similarity = columns
    return pl.DataFrame(
        {
            "eval_row": np.frombuffer(eval_rows, dtype="<u8"),
            "train_row": np.frombuffer(train_rows, dtype="<u8"),
            "similarity": np.frombuffer(similarity, dtype="<f8"),
        },
        schema={"eval_row": pl.UInt64, "train_row": pl.UInt64, "similarity": pl.Float64},
    )
