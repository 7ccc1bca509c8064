"""Audit a dataset, plan the run, and train a small model for exactly the planned optimizer steps.

    python examples/train_with_plan.py ../shared/data/gpteacher_codegen-instruct.parquet --text prompt
    python examples/train_with_plan.py ../shared/data/chatterbot_english.parquet --text text --label file

With --label the model is a bag-of-hashed-words classifier (regime "classifier"); without it, a
tiny byte-level next-token model (causal convolution) on the text (regime "finetune"). Steps:

1. audit the whole file and hold out a random set of duplicate clusters for evaluation, each
   represented once, so that no copy of an evaluation text is trained on (no leakage);
2. audit the training rows and plan on their unique count (`framework="torch"`: the loop below
   steps the optimizer after every `grad_accum` batches and after the last batch of an epoch);
3. DataLoader(batch_size=plan.batch, sampler=ClusterSampler(...)), build_scheduler,
   EarlyStopping.from_plan, and train until plan.total_steps optimizer steps (or early stop).

Runs on CUDA when available, else CPU. The last lines printed are the run's facts
(device, optimizer steps, epochs over unique samples, final LR, early stop, wall time).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import polars as pl

import epochplan

try:
    from epochplan.torch import ClusterSampler, EarlyStopping, build_scheduler
except ImportError as exc:  # epochplan.torch says how to install PyTorch
    raise SystemExit(str(exc)) from None

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

WORD = re.compile(r"\w+", re.UNICODE)
BUCKETS = 1 << 14  # hashed word uni- and bigram features
PAD = 256  # byte model: padding id (bytes are 0..255)


# --- Data -------------------------------------------------------------------------------------
def read_table(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return pl.read_ndjson(path)
    if suffix == ".csv":
        return pl.read_csv(path)
    raise SystemExit(f"{path}: unsupported file type {suffix!r}; use .parquet, .jsonl or .csv")


def text_of(df: pl.DataFrame, columns: list[str]) -> pl.Series:
    """The audited text: several columns are joined with a newline, as epochplan audit does."""
    if len(columns) == 1:
        return df.get_column(columns[0]).cast(pl.Utf8)
    joined = pl.concat_str([pl.col(c).cast(pl.Utf8) for c in columns], separator="\n", ignore_nulls=True)
    all_null = pl.all_horizontal([pl.col(c).is_null() for c in columns])
    return df.select(pl.when(all_null).then(None).otherwise(joined).alias("text")).get_column("text")


def split_by_cluster(df: pl.DataFrame, args: argparse.Namespace) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Hold out whole clusters: evaluation gets one representative of each held-out cluster,
    training gets every row of the other clusters."""
    full = epochplan.audit(df, text=args.text, label=args.label)
    clusters = ClusterSampler(full)
    rng = np.random.default_rng(args.seed)
    held = max(1, round(args.eval_fraction * clusters.num_clusters))
    if held >= clusters.num_clusters:
        raise SystemExit(f"only {clusters.num_clusters} unique texts: too few to hold out an evaluation set")
    eval_clusters = rng.choice(clusters.num_clusters, size=held, replace=False)
    eval_rows = np.sort(clusters.representatives[eval_clusters])
    train_mask = ~np.isin(clusters.row_cluster, eval_clusters) & (clusters.row_cluster >= 0)
    return df.filter(pl.Series(train_mask)), df[eval_rows], clusters.level


def hashed_features(text: str) -> list[int]:
    words = WORD.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    return [zlib.crc32(g.encode()) % BUCKETS for g in grams] or [0]


def byte_ids(text: str, seq_len: int) -> list[int]:
    return list(text.encode("utf-8")[: seq_len + 1]) or [PAD]


class Items(torch.utils.data.Dataset):
    """Row i of the audited training table is item i (what ClusterSampler's indices address)."""

    def __init__(self, features: list[list[int]], labels: list[int] | None) -> None:
        self.features, self.labels = features, labels

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int):
        return self.features[i], (self.labels[i] if self.labels is not None else -1)


def collate_bag(items):
    flat = [torch.tensor(f, dtype=torch.long) for f, _ in items]
    offsets = torch.tensor([0] + [len(f) for f in flat[:-1]], dtype=torch.long).cumsum(0)
    return {"ids": torch.cat(flat), "offsets": offsets, "labels": torch.tensor([y for _, y in items])}


def collate_bytes(items):
    longest = max(len(f) for f, _ in items)
    ids = torch.full((len(items), longest), PAD, dtype=torch.long)
    for row, (f, _) in enumerate(items):
        ids[row, : len(f)] = torch.tensor(f, dtype=torch.long)
    return {"ids": ids}


# --- Models -----------------------------------------------------------------------------------
class BagClassifier(nn.Module):
    def __init__(self, classes: int, dim: int = 32) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(BUCKETS, dim, mode="mean")
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(dim, classes))

    def loss(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.head(self.bag(batch["ids"], batch["offsets"]))
        correct = (logits.argmax(-1) == batch["labels"]).sum()
        return F.cross_entropy(logits, batch["labels"]), correct


class ByteLM(nn.Module):
    """Next-byte prediction from the previous `context` bytes (a causal convolution): tiny and fast."""

    def __init__(self, dim: int = 32, hidden: int = 128, context: int = 4) -> None:
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(PAD + 1, dim, padding_idx=PAD)
        self.conv = nn.Conv1d(dim, hidden, kernel_size=context)
        self.head = nn.Linear(hidden, 256)

    def loss(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        ids = batch["ids"]
        inputs, targets = ids[:, :-1], ids[:, 1:].masked_fill(ids[:, 1:] == PAD, -100)
        if inputs.shape[1] == 0:  # every text in the batch is one byte long: nothing to predict
            return self.head.weight.sum() * 0.0, torch.tensor(0)
        hidden = F.pad(self.embed(inputs).transpose(1, 2), (self.context - 1, 0))  # left pad: causal
        logits = self.head(F.relu(self.conv(hidden)).transpose(1, 2))
        loss = F.cross_entropy(logits.reshape(-1, 256), targets.reshape(-1), ignore_index=-100)
        correct = ((logits.argmax(-1) == targets) & (targets >= 0)).sum()
        return loss, correct


def rows_in(batch) -> int:
    return len(batch["labels"]) if "labels" in batch else len(batch["ids"])


def to_device(batch, device):
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device) -> float:
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        loss, _ = model.loss(to_device(batch, device))
        total += float(loss) * rows_in(batch)
        count += rows_in(batch)
    model.train()
    return total / max(count, 1)


# --- The run ----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path, help="Parquet, JSONL or CSV file")
    p.add_argument("--text", action="append", help="text column (repeat to join several); default: epochplan's choice")
    p.add_argument("--label", help="label column: train a classifier on it")
    p.add_argument("--regime", help="planning regime (default: classifier with --label, else finetune)")
    p.add_argument("--batch", type=int, default=16, help="per-device batch (default 16)")
    p.add_argument("--grad-accum", type=int, default=2, help="gradient accumulation (default 2)")
    run_length = p.add_mutually_exclusive_group()
    run_length.add_argument("--epochs", type=float, help="override the planned epochs")
    run_length.add_argument("--steps", type=int, help="override the planned optimizer steps")
    p.add_argument("--mode", choices=["representatives", "inverse_size"], default="representatives")
    p.add_argument("--scheduler", choices=["linear", "cosine", "onecycle"], default="cosine")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 3e-3 byte LM, 2e-2 classifier)")
    p.add_argument("--eval-fraction", type=float, default=0.1, help="share of clusters held out (default 0.1)")
    p.add_argument("--seq-len", type=int, default=128, help="byte LM: bytes per text (default 128)")
    p.add_argument("--rows", type=int, help="use this many rows drawn at random (seeded), for a quick run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1...")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: these models are too small to gain from more, "
        "and spinning threads on a busy machine make it much slower)",
    )
    p.add_argument("--no-early-stopping", action="store_true", help="always run all planned steps")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))

    df = read_table(args.data)
    if args.rows is not None and args.rows < df.height:
        keep = np.sort(np.random.default_rng(args.seed).choice(df.height, size=args.rows, replace=False))
        df = df[keep]
    if args.label is not None:
        df = df.filter(pl.col(args.label).is_not_null())
    # Resolve the text column(s) the way the audit does, then drop rows without text.
    args.text = epochplan.audit(df.head(1), text=args.text, keep_clusters=False).source.text_columns
    df = df.filter(text_of(df, args.text).is_not_null())
    train_df, eval_df, level = split_by_cluster(df, args)

    result = epochplan.audit(train_df, text=args.text, label=args.label)
    regime = args.regime or ("classifier" if args.label else "finetune")
    plan = epochplan.plan(
        result,
        epochplan.Setup(
            regime=regime, batch=args.batch, grad_accum=args.grad_accum, framework="torch", epochs=args.epochs, steps=args.steps
        ),
    )
    sampler = ClusterSampler(result, mode=args.mode, seed=args.seed)
    assert len(sampler) == plan.samples_per_epoch, (len(sampler), plan.samples_per_epoch)
    print(
        f"data: {df.height} rows ({', '.join(args.text)}); eval {eval_df.height} held-out {level} clusters; "
        f"train {train_df.height} rows = {plan.unique_samples} {plan.unique_level}-unique samples"
    )
    print(
        f"plan: {regime}, {plan.epochs.planned:.4g} epochs, {plan.total_steps} optimizer steps "
        f"({plan.steps_per_epoch} per epoch, global batch {plan.global_batch_size} = {plan.batch} x "
        f"{args.grad_accum}), warmup {plan.warmup_steps}, eval every {plan.eval_steps}, "
        f"patience {plan.early_stopping_patience}"
    )
    for warning in plan.warnings:
        print(f"plan warning: {warning}")

    train_texts, eval_texts = text_of(train_df, args.text).to_list(), text_of(eval_df, args.text).to_list()
    if args.label is not None:
        classes = sorted(set(map(str, train_df.get_column(args.label))) | set(map(str, eval_df.get_column(args.label))))
        index = {c: i for i, c in enumerate(classes)}
        encode = hashed_features
        train_labels = [index[str(v)] for v in train_df.get_column(args.label)]
        eval_labels = [index[str(v)] for v in eval_df.get_column(args.label)]
        model, collate, lr = BagClassifier(len(classes)), collate_bag, args.lr or 2e-2
    else:

        def encode(t: str) -> list[int]:
            return byte_ids(t, args.seq_len)

        train_labels = eval_labels = None
        model, collate, lr = ByteLM(), collate_bytes, args.lr or 3e-3
    train_set = Items([encode(t) for t in train_texts], train_labels)
    eval_set = Items([encode(t) for t in eval_texts], eval_labels)
    pin = device.type == "cuda"
    loader = DataLoader(train_set, batch_size=plan.batch, sampler=sampler, collate_fn=collate, pin_memory=pin)
    eval_loader = DataLoader(eval_set, batch_size=64, collate_fn=collate, pin_memory=pin)

    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = build_scheduler(optimizer, plan, kind=args.scheduler)
    stopper = EarlyStopping.from_plan(plan) if not args.no_early_stopping else EarlyStopping(None)
    accum = args.grad_accum

    steps = samples = epoch = 0
    eval_loss = best_loss = math.nan
    stopped = False
    while steps < plan.total_steps and not stopped:
        sampler.set_epoch(epoch)  # a new order (and, in inverse_size mode, new draws) every epoch
        batches = len(loader)
        for i, batch in enumerate(loader):
            # The last window of an epoch may be partial: scale by its real size, then step.
            window = min(accum, batches - (i // accum) * accum)
            loss, _ = model.loss(to_device(batch, device))
            (loss / window).backward()
            samples += rows_in(batch)
            if (i + 1) % accum and i + 1 < batches:
                continue
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            steps += 1
            if steps % plan.eval_steps == 0 or steps == plan.total_steps:
                eval_loss = evaluate(model, eval_loader, device)
                best_loss = eval_loss if math.isnan(best_loss) else min(best_loss, eval_loss)
                if stopper.step(eval_loss) and steps < plan.total_steps:
                    stopped = True
                    break
            if steps == plan.total_steps:
                break
        epoch += 1

    wall = time.perf_counter() - started
    print(f"eval loss: {eval_loss:.4f} (best {best_loss:.4f} over {stopper.evaluations} evaluations)")
    print(f"optimizer steps: {steps} / {plan.total_steps} planned")
    print(f"epochs over unique samples: {samples / plan.samples_per_epoch:.4f} (planned {plan.epochs.planned:.4g})")
    print(f"final lr: {scheduler.get_last_lr()[0]:.6g}")
    print(f"stopped early: {'yes, after ' + str(stopper.patience) + ' evaluations without improvement' if stopped else 'no'}")
    print(f"wall time: {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
