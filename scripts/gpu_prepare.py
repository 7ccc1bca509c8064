"""The half of the GPU check that runs here: the data and the plan that travel to the device.

    python scripts/gpu_prepare.py --dir .device [--source ../shared/data/chatterbot_english.parquet]

Run by `scripts/gpu-check.sh prepare` with the freshly built wheels on PYTHONPATH. Writes, into
--dir (atomically, one file at a time):

- train.parquet / eval.parquet: a seeded sample of the source's `text` column, split by whole
  near-duplicate clusters (every 10th cluster, one representative of each, is held out for
  evaluation), so no copy of an evaluation text is trained on. The sample keeps the source's
  duplicates: the ClusterSampler has real clusters to collapse.
- plan.json (framework "torch", for the plain loop) and plan-hf.json (framework "hf", for the
  Trainer): epochplan's plan for train.parquet with a batch geometry chosen so that the whole
  check is a few dozen optimizer steps (short on CPU, a few seconds on the GPU).
- prepare.json: what was sampled and how, for the report.

scripts/gpu_check.py re-audits train.parquet on the device and requires the same plan.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import polars as pl

import epochplan

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path(os.environ.get("EPOCHPLAN_SHARED_DATA", REPO.parent / "shared" / "data")) / "chatterbot_english.parquet"
HOLD_OUT_EVERY = 10  # every 10th near cluster (in row order) goes to evaluation


def write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def sample_texts(source: Path, column: str, rows: int, seed: int) -> pl.DataFrame:
    if not source.is_file():
        raise SystemExit(f"gpu_prepare: {source} not found; pass --source or set EPOCHPLAN_SHARED_DATA")
    df = pl.read_parquet(source, columns=[column]).rename({column: "text"}).filter(pl.col("text").is_not_null())
    if rows < df.height:
        keep = np.sort(np.random.default_rng(seed).choice(df.height, size=rows, replace=False))
        df = df[keep]
    return df


def split_by_cluster(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train on whole clusters, evaluate on one representative of each held-out cluster."""
    clusters = epochplan.audit(df, text="text").clusters  # row, exact_id, near_id (= representative row), keep
    representatives = clusters.filter(pl.col("keep")).get_column("row").sort()
    held_out = representatives.gather_every(HOLD_OUT_EVERY, offset=HOLD_OUT_EVERY - 1)
    in_eval = clusters.sort("row").get_column("near_id").is_in(held_out.implode())
    return df.filter(~in_eval), df[held_out.to_numpy()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=REPO / ".device", help="folder that travels to the device (default .device)")
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help=f"Parquet source (default {DEFAULT_SOURCE})")
    p.add_argument("--text", default="text", help="text column of the source (default text)")
    p.add_argument("--rows", type=int, default=600, help="rows sampled from the source (default 600)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=8, help="per-device batch (default 8)")
    p.add_argument("--grad-accum", type=int, default=3, help="gradient accumulation (default 3)")
    args = p.parse_args(argv)

    args.dir.mkdir(parents=True, exist_ok=True)
    df = sample_texts(args.source, args.text, args.rows, args.seed)
    train, evaluation = split_by_cluster(df)
    train_path, eval_path = args.dir / "train.parquet", args.dir / "eval.parquet"
    write_atomic(train_path, train.write_parquet)
    write_atomic(eval_path, evaluation.write_parquet)

    # Plan from the file exactly as it travels: the device audits the same bytes.
    result = epochplan.audit(train_path, text="text")
    setup = epochplan.Setup(regime="finetune", batch=args.batch, grad_accum=args.grad_accum, framework="torch")
    plans = {"plan.json": epochplan.plan(result, setup), "plan-hf.json": epochplan.plan(result, setup, framework="hf")}
    for name, plan in plans.items():
        write_atomic(args.dir / name, lambda tmp, plan=plan: tmp.write_text(plan.to_json()))
    plan = plans["plan.json"]
    write_json(
        args.dir / "prepare.json",
        {
            "source": args.source.name,
            "text_column": args.text,
            "rows_sampled": df.height,
            "seed": args.seed,
            "train_rows": train.height,
            "eval_rows": evaluation.height,
            "hold_out_every": HOLD_OUT_EVERY,
            "unique_train_samples": plan.unique_samples,
            "unique_level": plan.unique_level,
            "epochplan": epochplan.__version__,
            "polars": pl.__version__,
        },
    )
    print(
        f"prepare: {df.height} rows of {args.source.name} -> train {train.height} rows "
        f"({plan.unique_samples} {plan.unique_level}-unique), eval {evaluation.height} held-out clusters"
    )
    for name, p_ in plans.items():
        print(
            f"prepare: {name}: {p_.framework}, {p_.epochs.planned:.4g} epochs, {p_.total_steps} optimizer steps "
            f"({p_.steps_per_epoch}/epoch, global batch {p_.global_batch_size}), warmup {p_.warmup_steps}, "
            f"eval/save every {p_.eval_steps}/{p_.save_steps}, patience {p_.early_stopping_patience}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
