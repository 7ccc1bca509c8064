"""Epoch planning: from the true unique counts to an epoch range and a step budget.

Every number in a `Plan` carries a rationale entry (rule, detail, source), so a user can see why
the planner chose it. The planner consumes an audit (`epochplan.audit/1`, as a dict, a JSON file
or an object with `to_dict()`), or plain counts (`samples=`, `tokens=`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

PLAN_SCHEMA = "epochplan.plan/1"
AUDIT_SCHEMA = "epochplan.audit/1"
REGIMES = ("pretrain", "finetune", "lora", "classifier")
FRAMEWORKS = ("hf", "lightning", "torch", "composer")
DEFAULT_BATCH = 8
DEFAULT_PRETRAIN_SEQ_LEN = 2048

# --- Published constants and where they come from -------------------------------------------
R_STAR = 15.39  # Muennighoff et al. 2023, fitted R*_D (half-life-like decay of repeated-token value)
TOKENS_PER_PARAM = 20.0  # Chinchilla compute-optimal ratio
OPENAI_TARGET_EPOCHS = 3
OPENAI_MIN_EXAMPLES, OPENAI_MAX_EXAMPLES = 100, 25_000
OPENAI_MIN_EPOCHS, OPENAI_MAX_EPOCHS = 1, 25
FINETUNE_WARMUP, PRETRAIN_WARMUP, MIN_WARMUP = 0.06, 0.01, 10
EVALS_MIN, EVALS_TARGET, EVALS_MAX = 10, 20, 30
# (upper bound of size band, min, typical-low, typical-high, max, recommended) for classifiers
CLASSIFIER_TABLE = (
    (999, 10, 15, 30, 50, 20),
    (10_000, 5, 8, 15, 20, 10),
    (math.inf, 1, 2, 5, 10, 3),
)

SRC_MUENNIGHOFF = (
    "Muennighoff et al. 2023, Scaling Data-Constrained Language Models (arXiv:2305.16264): "
    "D' = U + U*R*(1 - exp(-R/R*)), R = epochs - 1, R* = 15.39"
)
SRC_CHINCHILLA = (
    "Hoffmann et al. 2022 (Chinchilla, arXiv:2203.15556); Besiroglu et al. 2024 replication: "
    "~20 tokens per parameter is compute-optimal"
)
SRC_OPENAI = (
    "OpenAI cookbook, examples/Chat_finetuning_data_prep.ipynb: TARGET_EPOCHS = 3, "
    "examples x epochs in [100, 25 000], epochs in [1, 25]"
)
SRC_LIMA = "Zhou et al. 2023, 'LIMA: Less Is More for Alignment' (1 000 examples, 15 epochs)"
SRC_RASCHKA = (
    "Raschka 2023, 'Practical Tips for Finetuning LLMs Using LoRA': a second pass over "
    "50k Alpaca examples made the LoRA model worse"
)
SRC_CLASSIFIER = "epochplan DESIGN.md 'Planning': small-data classifier epoch table (practitioner consensus)"
SRC_HERNANDEZ = (
    "Hernandez et al. 2022, Scaling Laws and Interpretability of Learning from Repeated Data "
    "(arXiv:2205.10487): 0.1% of the data repeated 100x degraded an 800M model to 400M-level"
)
SRC_FLOPS = "Kaplan et al. 2020 / Hoffmann et al. 2022: training FLOPs C ~ 6 * N_params * D_tokens"
SRC_WARMUP_FT = "fine-tuning practice: 3-10% warm-up (BERT fine-tuning 10%, RoBERTa GLUE 6%); floor of 10 steps"
SRC_WARMUP_PT = "Devlin et al. 2019 (BERT): 10 000 warm-up steps of 1 M = 1%; floor of 10 steps"
SRC_EVAL = "epochplan DESIGN.md 'Planning': evaluate 10-30 times per run and at least once per epoch"
SRC_SAVE = "transformers TrainingArguments: load_best_model_at_end needs save_steps a multiple of eval_steps"
SRC_PATIENCE = "early stopping counted in evaluations (HF EarlyStoppingCallback, Lightning EarlyStopping)"
SRC_AUDIT = "epochplan audit (schema epochplan.audit/1)"
SRC_FFD = (
    "first-fit-decreasing bin packing simulated on a synthetic length sample rebuilt from the audit's "
    "length quantiles (p50/p90/p99/max; lower half fitted to the mean), not on the real lengths"
)
SRC_ARITH = "S * B = N * E (optimizer steps x global batch = samples x epochs)"
SRC_HF = (
    "transformers 5.x trainer.py Trainer.set_initial_training_values: num_update_steps_per_epoch = "
    "len_dataloader // grad_accum + int(len_dataloader % grad_accum > 0), max_steps = "
    "ceil(epochs * that); data parallel by accelerate data_loader.py BatchSamplerShard "
    "(even_batches: ceil(batches / processes))"
)
SRC_LIGHTNING = (
    "pytorch_lightning trainer.py estimated_stepping_batches = ceil(num_training_batches / "
    "accumulate_grad_batches) * max_epochs; training_epoch_loop.py 'Lightning steps on the final "
    "batch'; DistributedSampler injected by connectors/data_connector.py"
)
SRC_TORCH = (
    "torch/utils/data/distributed.py DistributedSampler: num_samples = ceil(N / replicas) "
    "(ceil((N - replicas) / replicas) with drop_last); sampler.py BatchSampler.__len__; "
    "epochplan's loop convention: flush the last partial accumulation window"
)
SRC_COMPOSER = (
    "composer trainer.py _train_batch: one optimizer step per dataloader batch, split into "
    "device_train_microbatch_size micro-batches; utils/dist.py get_sampler = DistributedSampler"
)


# --- Small parsers ----------------------------------------------------------------------------
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_COUNT_RE = re.compile(r"^\s*([0-9][0-9_,]*\.?[0-9]*(?:e[+-]?[0-9]+)?)\s*([kmbgt]?)\s*$", re.IGNORECASE)


def parse_count(value: Any, what: str) -> float:
    """Read 7e9, '7B', '350M', '1.3b', '2_000' or a number; raise InputError otherwise."""
    if isinstance(value, bool):
        raise InputError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _COUNT_RE.match(str(value))
        if not match:
            raise InputError(f"{what}: cannot read {value!r} as a count; write e.g. 7e9, 7B or 350M")
        number = float(match.group(1).replace("_", "").replace(",", "")) * _SUFFIX.get(
            match.group(2).lower(), 1.0
        )
    if not math.isfinite(number):
        raise InputError(f"{what}: {value!r} is not a finite number")
    return number


def _positive_int(value: Any, what: str) -> int:
    shown = value
    if isinstance(value, str):
        value = parse_count(value, what)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what}: expected a whole number, got {shown!r}")
    if isinstance(value, float) and not value.is_integer():
        raise InputError(f"{what}: expected a whole number, got {shown!r}")
    if value < 1:
        raise InputError(f"{what}: must be at least 1, got {shown}")
    return int(value)


def _positive_float(value: Any, what: str) -> float:
    number = parse_count(value, what)
    if number <= 0:
        raise InputError(f"{what}: must be greater than 0, got {value}")
    return number


# --- Setup ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    """Training geometry and overrides. `batch` is per device; `gpus` is the data-parallel size.

    At most one of `epochs`, `steps`, `token_budget` may be set: each fixes the run length.
    """

    regime: str = "finetune"
    params: float | None = None
    batch: int | None = None
    grad_accum: int = 1
    gpus: int = 1
    seq_len: int | None = None
    packing: bool | None = None
    packing_efficiency: float | None = None
    framework: str = "hf"
    drop_last: bool = False
    epochs: float | None = None
    steps: int | None = None
    token_budget: float | None = None

    def __post_init__(self) -> None:
        def fix(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)  # the dataclass is frozen

        regime = str(self.regime).strip().lower()
        if regime not in REGIMES:
            raise InputError(f"--regime {self.regime!r}: unknown regime; use one of {', '.join(REGIMES)}")
        fix("regime", regime)
        framework = str(self.framework).strip().lower()
        if framework not in FRAMEWORKS:
            raise InputError(
                f"--framework {self.framework!r}: unknown framework; use one of {', '.join(FRAMEWORKS)}"
            )
        fix("framework", framework)
        if self.params is not None:
            fix("params", _positive_float(self.params, "--params"))
        if self.batch is not None:
            fix("batch", _positive_int(self.batch, "--batch (per-device batch size)"))
        fix("grad_accum", _positive_int(self.grad_accum, "--grad-accum"))
        fix("gpus", _positive_int(self.gpus, "--gpus (data-parallel size)"))
        if self.seq_len is not None:
            fix("seq_len", _positive_int(self.seq_len, "--seq-len"))
        for name in ("packing", "drop_last"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise InputError(f"--{name.replace('_', '-')}: expected true or false, got {value!r}")
        if self.packing_efficiency is not None:
            eff = parse_count(self.packing_efficiency, "--packing-efficiency")
            if not 0 < eff <= 1:
                raise InputError(f"--packing-efficiency {eff}: must be in (0, 1], e.g. 0.95")
            fix("packing_efficiency", eff)
        self._check_overrides()

    def _check_overrides(self) -> None:
        given = [name for name in ("epochs", "steps", "token_budget") if getattr(self, name) is not None]
        if len(given) > 1:
            flags = " and ".join(f"--{name.replace('_', '-')}" for name in given)
            raise InputError(f"{flags} are both set and contradict each other (each fixes the run length); give only one")
        if self.epochs is not None:
            object.__setattr__(self, "epochs", _positive_float(self.epochs, "--epochs"))
        if self.steps is not None:
            object.__setattr__(self, "steps", _positive_int(self.steps, "--steps"))
        if self.token_budget is not None:
            object.__setattr__(self, "token_budget", _positive_float(self.token_budget, "--token-budget"))

    @property
    def per_device_batch(self) -> int:
        return self.batch if self.batch is not None else DEFAULT_BATCH

    @property
    def global_batch(self) -> int:
        return self.per_device_batch * self.grad_accum * self.gpus

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["batch"] = self.per_device_batch
        return d


# --- What the data looks like -----------------------------------------------------------------
@dataclass(frozen=True)
class LengthQuantiles:
    """Per-sample length quantiles in (estimated) tokens."""

    mean: float
    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True)
class DataCounts:
    """The counts the planner needs, read from an audit or given directly."""

    unique_samples: int | None
    unique_level: str  # "near" | "exact" | "given"
    unique_tokens: float | None
    tokens_source: str  # how unique_tokens was obtained, for the rationale
    token_lengths: LengthQuantiles | None = None
    rows: int | None = None  # non-null rows in the audit
    duplicate_rows: int = 0
    largest_cluster: int = 1
    clusters: int = 0
    top_counts: tuple[int, ...] = ()
    exact_unique: int | None = None


def _audit_dict(source: Any) -> dict[str, Any]:
    """An `epochplan.audit/1` dict from a dict, an object with `to_dict()`, or a JSON file path."""
    if isinstance(source, Mapping):
        data = dict(source)
    elif hasattr(source, "to_dict"):
        data = source.to_dict()
    elif isinstance(source, (str, os.PathLike)):
        data = _read_audit_json(Path(source))
    else:
        raise InputError(f"cannot plan from a {type(source).__name__}; pass an audit result, its dict or a JSON path")
    if data.get("schema") != AUDIT_SCHEMA:
        raise InputError(f"audit schema is {data.get('schema')!r}, expected {AUDIT_SCHEMA!r}; re-run epochplan audit --json")
    return data


def _read_audit_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--audit {path}: file not found; write one with `epochplan audit DATA --json {path}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--audit {path}: not a readable audit JSON ({exc}); re-create it with epochplan audit --json") from None


def counts_from_audit(source: Any) -> DataCounts:
    """Read the planner's inputs from an audit; near-unique wins over exact-unique when present."""
    data = _audit_dict(source)
    try:
        non_null = int(data["rows"]) - int(data["null_rows"])
        exact = data["exact"]
        level, stats = ("near", data["near"]) if data.get("near") else ("exact", exact)
        unique = int(stats["unique"])
        lengths = data.get("lengths") or {}
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"audit is missing field {exc}; re-create it with epochplan audit --json") from None
    if non_null <= 0 or unique <= 0:
        raise InputError("audit has no non-null text rows; nothing to plan (check the --text column)")
    tokens_estimate = lengths.get("tokens_estimate")
    unique_tokens = None if tokens_estimate is None else float(tokens_estimate) * unique / non_null
    return DataCounts(
        unique_samples=unique,
        unique_level=level,
        unique_tokens=unique_tokens,
        tokens_source="audit tokens_estimate (UTF-8 bytes / 4) x unique / non-null rows",
        token_lengths=_token_quantiles(lengths, non_null),
        rows=non_null,
        duplicate_rows=int(stats.get("duplicate_rows", non_null - unique)),
        largest_cluster=int(stats.get("largest_cluster") or 1),
        clusters=int(stats.get("clusters") or 0),
        top_counts=tuple(int(t["count"]) for t in stats.get("top") or ()),
        exact_unique=int(exact["unique"]),
    )


def _token_quantiles(lengths: Mapping[str, Any], non_null: int) -> LengthQuantiles | None:
    """Scale character quantiles to tokens with the corpus-wide tokens-per-character ratio."""
    chars, tokens = lengths.get("chars"), lengths.get("tokens_estimate")
    if not chars or not tokens or not chars.get("mean"):
        return None
    per_char = float(tokens) / (float(chars["mean"]) * non_null)
    return LengthQuantiles(*(float(chars[k]) * per_char for k in ("mean", "p50", "p90", "p99", "max")))


def counts_from_numbers(samples: Any = None, tokens: Any = None) -> DataCounts:
    """Counts given directly (`--samples`, `--tokens`), taken as already unique."""
    n = None if samples is None else _positive_int(samples, "--samples")
    t = None if tokens is None else _positive_float(tokens, "--tokens")
    if n is None and t is None:
        raise InputError("nothing to plan: give an audit (--audit FILE or a data path), --samples or --tokens")
    return DataCounts(unique_samples=n, unique_level="given", unique_tokens=t, tokens_source="given (--tokens)")


# --- Packing ----------------------------------------------------------------------------------
def synthetic_lengths(q: LengthQuantiles, n: int) -> np.ndarray:
    """A deterministic length sample whose quantiles are q's: linear between p50, p90, p99 and
    max; the audit has no minimum, so the lower half is a power curve p50 * (2p)^k with k chosen
    to reproduce the mean (k = 1 is a straight line from 0)."""
    probs = (np.arange(n) + 0.5) / n
    upper = np.interp(probs, [0.5, 0.9, 0.99, 1.0], [q.p50, q.p90, q.p99, q.max])
    upper_mass = 0.4 * (q.p50 + q.p90) / 2 + 0.09 * (q.p90 + q.p99) / 2 + 0.01 * (q.p99 + q.max) / 2
    lower_mass = q.mean - upper_mass  # what the lower half must contribute to the mean
    k = 50.0 if lower_mass <= 0 else min(max(0.5 * q.p50 / lower_mass - 1.0, 0.0), 50.0)
    lower = q.p50 * np.power(np.minimum(2 * probs, 1.0), k)
    values = np.where(probs < 0.5, lower, upper)
    return np.maximum(np.rint(values), 1).astype(np.int64)


def ffd_efficiency(lengths: np.ndarray, capacity: int) -> float:
    """Share of sequence slots filled when documents are packed first-fit-decreasing; documents
    longer than `capacity` are cut into full sequences plus a remainder (no token is dropped)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    lengths = lengths[lengths > 0]
    if lengths.size == 0:
        return 1.0
    full_bins = int((lengths // capacity).sum())
    pieces = np.sort(lengths % capacity)[::-1]
    free = np.empty(pieces.size, dtype=np.int64)
    used = 0
    for piece in pieces[pieces > 0]:
        fits = np.flatnonzero(free[:used] >= piece)
        if fits.size:
            free[fits[0]] -= piece
        else:
            free[used] = capacity - piece
            used += 1
    return float(lengths.sum()) / ((full_bins + used) * capacity)


# --- Framework rounding -----------------------------------------------------------------------
def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _distributed_shard(n: int, gpus: int, drop_last: bool) -> int:
    """Samples per rank under torch DistributedSampler (torch/utils/data/distributed.py):
    padded to equal shards by repeating indices, or trimmed with drop_last."""
    if gpus == 1:
        return n
    if drop_last and n % gpus:
        return _ceil_div(n - gpus, gpus)
    return _ceil_div(n, gpus)


def _loader_len(n: int, batch: int, drop_last: bool) -> int:
    """len(DataLoader) (torch/utils/data/sampler.py BatchSampler.__len__)."""
    return n // batch if drop_last else _ceil_div(n, batch)


def steps_per_epoch(framework: str, n: int, batch: int, grad_accum: int, gpus: int, drop_last: bool = False) -> int:
    """Optimizer steps in one pass over `n` items, counted the way `framework` counts them."""
    if framework == "hf":
        # transformers Trainer: a non-distributed sampler + BatchSampler(batch), then accelerate's
        # BatchSamplerShard deals whole batches to ranks, evened up by looping back (even_batches).
        batches = _loader_len(n, batch, drop_last)
        per_rank = batches // gpus if drop_last else _ceil_div(batches, gpus)
        # trainer.py set_initial_training_values: the last partial accumulation window is a step.
        return max(_ceil_div(per_rank, grad_accum), 1) if per_rank else 0
    if framework == "composer":
        # composer: one optimizer step per device batch (= batch x grad_accum samples, split into
        # micro-batches of `batch`), over a DistributedSampler shard.
        return _loader_len(_distributed_shard(n, gpus, drop_last), batch * grad_accum, drop_last)
    # lightning and plain torch: DistributedSampler shard, DataLoader(batch), and an optimizer
    # step at the end of every accumulation window including the last partial one
    # (Lightning "steps on the final batch"; epochplan's torch loop does the same).
    batches = _loader_len(_distributed_shard(n, gpus, drop_last), batch, drop_last)
    return _ceil_div(batches, grad_accum)


FRAMEWORK_SOURCES = {"hf": SRC_HF, "lightning": SRC_LIGHTNING, "torch": SRC_TORCH, "composer": SRC_COMPOSER}


# --- Rules ------------------------------------------------------------------------------------
def effective_data_ratio(epochs: float) -> float:
    """D'/U (Muennighoff et al. 2023): value of E epochs over U unique tokens, in units of U."""
    if epochs <= 1:
        return float(epochs)
    repeats = epochs - 1
    return 1.0 + R_STAR * (1.0 - math.exp(-repeats / R_STAR))


def openai_epochs(n: int) -> int:
    """The OpenAI data-prep default epoch count for n training examples."""
    if n * OPENAI_TARGET_EPOCHS < OPENAI_MIN_EXAMPLES:
        return min(OPENAI_MAX_EPOCHS, OPENAI_MIN_EXAMPLES // n)
    if n * OPENAI_TARGET_EPOCHS > OPENAI_MAX_EXAMPLES:
        return max(OPENAI_MIN_EPOCHS, OPENAI_MAX_EXAMPLES // n)
    return OPENAI_TARGET_EPOCHS


@dataclass(frozen=True)
class RationaleEntry:
    """Why a number has its value: the rule, the arithmetic, the source."""

    field: str
    rule: str
    detail: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "detail": self.detail, "source": self.source}


@dataclass(frozen=True)
class EpochRange:
    """The rule's range and recommendation, and `planned`: the epochs the step budget gives."""

    min: float
    recommended: float
    max: float
    planned: float

    def to_dict(self) -> dict[str, float]:
        return {k: _round(v) for k, v in dataclasses.asdict(self).items()}


def _round(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def _fmt(x: float) -> str:
    """Human number: 1,234 or 3.3e+09 or 0.3728."""
    if float(x).is_integer() and abs(x) < 1e12:
        return f"{int(x):,}"
    return f"{x:.4g}"


def _epoch_rule(regime: str, counts: DataCounts, n_items: int, setup: Setup) -> tuple[float, float, float, list[RationaleEntry]]:
    if regime == "pretrain":
        return _pretrain_rule(counts, setup)
    n = counts.unique_samples or n_items
    if regime == "classifier":
        return _classifier_rule(n)
    return _finetune_rule(regime, n)


def _pretrain_rule(counts: DataCounts, setup: Setup) -> tuple[float, float, float, list[RationaleEntry]]:
    tokens = counts.unique_tokens
    if setup.params is None or not tokens:
        why = RationaleEntry(
            "epochs", "pre-training without --params: one pass, at most ~4 repeats",
            "no parameter count, so no compute-optimal budget; up to 4 epochs of repeated data are "
            "almost as good as fresh data", SRC_MUENNIGHOFF)
        return 1.0, 1.0, 4.0, [why]
    optimal = TOKENS_PER_PARAM * setup.params / tokens
    entries = [RationaleEntry(
        "epochs", "compute-optimal epochs E* = 20 x params / unique tokens",
        f"E* = 20 x {_fmt(setup.params)} / {_fmt(round(tokens))} = {optimal:.3g}; recommended min(E*, 4), "
        f"max min(E*, 16) (repeats beyond ~4 epochs lose value, beyond 16 mostly wasted)",
        f"{SRC_CHINCHILLA}; {SRC_MUENNIGHOFF}")]
    return min(optimal, 1.0), min(optimal, 4.0), min(optimal, 16.0), entries


def _classifier_rule(n: int) -> tuple[float, float, float, list[RationaleEntry]]:
    for upper, lo, typ_lo, typ_hi, hi, rec in CLASSIFIER_TABLE:
        if n <= upper:
            band = "< 1k" if upper == 999 else ("1k-10k" if upper == 10_000 else "> 10k")
            entry = RationaleEntry(
                "epochs", f"classifier on {band} samples: {lo}-{hi} epochs (typically {typ_lo}-{typ_hi})",
                f"{_fmt(n)} unique samples -> recommended {rec}, the middle of the typical band", SRC_CLASSIFIER)
            return float(lo), float(rec), float(hi), [entry]
    raise AssertionError("unreachable: the table ends with infinity")


def _finetune_rule(regime: str, n: int) -> tuple[float, float, float, list[RationaleEntry]]:
    rec = openai_epochs(n)
    lo = max(OPENAI_MIN_EPOCHS, _ceil_div(OPENAI_MIN_EXAMPLES, n))
    hi = min(OPENAI_MAX_EPOCHS, max(OPENAI_MIN_EPOCHS, OPENAI_MAX_EXAMPLES // n))
    entries = [RationaleEntry(
        "epochs", "fine-tuning: 3 epochs, adjusted so samples x epochs stays in [100, 25 000], epochs in [1, 25]",
        f"{_fmt(n)} unique samples -> {rec} epochs (range {lo}-{hi})", SRC_OPENAI)]
    if n <= 1000:
        lo, hi = max(lo, min(3, rec)), min(hi, max(15, rec))
        entries.append(RationaleEntry(
            "epochs", "small curated set (<= 1 000 samples): 3-15 epochs",
            f"range narrowed to {lo}-{hi}", SRC_LIMA))
    if regime == "lora" and n > 5000:
        rec, hi = min(rec, 2), min(hi, 2)
        lo = min(lo, rec)
        entries.append(RationaleEntry(
            "epochs", "LoRA on a large set: at most 2 epochs",
            f"{_fmt(n)} unique samples -> recommended {rec}, max {hi}", SRC_RASCHKA))
    return float(lo), float(rec), float(hi), entries


# --- The plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposure:
    """How often duplicated texts would be seen if training ran on the raw rows."""

    level: str
    rows: int
    unique: int
    duplicate_rows: int
    largest_cluster: int
    largest_cluster_exposures: float  # k x planned epochs for the largest cluster of size k
    raw_steps_per_epoch: int  # optimizer steps in one pass over the raw (not deduplicated) rows
    top_share_of_rows: float  # rows in the (up to 10) largest clusters / rows
    top_share_of_repeats: float  # their duplicate rows / all duplicate rows

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in ("largest_cluster_exposures", "top_share_of_rows", "top_share_of_repeats"):
            d[key] = _round(d[key])
        return d


@dataclass(frozen=True)
class Plan:
    """An epoch range and a step budget, each number with a rationale entry."""

    setup: Setup
    regime: str
    framework: str
    unique_samples: int | None
    unique_level: str
    unique_tokens: int | None
    samples_per_epoch: int  # items a DataLoader yields per epoch: unique samples or packed sequences
    packing: bool
    packing_efficiency: float | None
    seq_len: int | None
    epochs: EpochRange
    budget: str  # what fixed the run length: "rule" | "epochs" | "steps" | "token_budget"
    global_batch_size: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    eval_steps: int
    save_steps: int
    early_stopping_patience: int | None
    tokens_per_epoch: int | None
    tokens_total: int | None
    effective_data_ratio: float
    flops: float | None
    exposure: Exposure | None
    warnings: tuple[str, ...] = ()
    rationale: tuple[RationaleEntry, ...] = field(default=(), repr=False)

    @property
    def batch(self) -> int:
        """Per-device batch size (what a DataLoader gets)."""
        return self.setup.per_device_batch

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": PLAN_SCHEMA,
            "regime": self.regime,
            "framework": self.framework,
            "setup": self.setup.to_dict(),
            "unique_samples": self.unique_samples,
            "unique_level": self.unique_level,
            "unique_tokens": self.unique_tokens,
            "samples_per_epoch": self.samples_per_epoch,
            "packing": self.packing,
            "packing_efficiency": None if self.packing_efficiency is None else _round(self.packing_efficiency),
            "seq_len": self.seq_len,
            "epochs": self.epochs.to_dict(),
            "budget": self.budget,
            "global_batch_size": self.global_batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "eval_steps": self.eval_steps,
            "save_steps": self.save_steps,
            "early_stopping_patience": self.early_stopping_patience,
            "tokens_per_epoch": self.tokens_per_epoch,
            "tokens_total": self.tokens_total,
            "effective_data_ratio": _round(self.effective_data_ratio),
            "flops": self.flops,
            "exposure": self.exposure.to_dict() if self.exposure else None,
            "warnings": list(self.warnings),
            "rationale": [r.to_dict() for r in self.rationale],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False) + "\n"

    def to_hf(self) -> dict[str, Any]:
        """Keyword arguments for transformers.TrainingArguments (add output_dir)."""
        from .exports import to_hf

        return to_hf(self)

    def hf_callbacks(self) -> list[Any]:
        """[EarlyStoppingCallback] for transformers.Trainer (imports transformers)."""
        from .exports import hf_callbacks

        return hf_callbacks(self)

    def to_lightning(self) -> dict[str, Any]:
        """Keyword arguments for lightning.Trainer."""
        from .exports import to_lightning

        return to_lightning(self)

    def lightning_callbacks(self) -> list[Any]:
        """[EarlyStopping(monitor="val_loss")] for lightning.Trainer(callbacks=...) (imports Lightning)."""
        from .exports import lightning_callbacks

        return lightning_callbacks(self)

    def to_composer(self) -> dict[str, Any]:
        """Keyword arguments for composer.Trainer (durations in batches)."""
        from .exports import to_composer

        return to_composer(self)

    def to_torch(self) -> dict[str, Any]:
        """Everything a hand-written training loop needs, as a plain dict."""
        from .exports import to_torch

        return to_torch(self)


@dataclass
class _Builder:
    """Collects rationale and warnings while the plan's numbers are computed."""

    setup: Setup
    counts: DataCounts
    rationale: list[RationaleEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def why(self, field_name: str, rule: str, detail: str, source: str) -> None:
        self.rationale.append(RationaleEntry(field_name, rule, detail, source))


def plan(source: Any = None, setup: Setup | None = None, *, samples: Any = None, tokens: Any = None, **setup_fields: Any) -> Plan:
    """Plan epochs and steps for an audit (result, dict or JSON path) or for `samples`/`tokens`.

    `setup_fields` (regime=, batch=, ...) build a Setup or override fields of `setup`.
    """
    setup = _resolve_setup(setup, setup_fields)
    counts = _resolve_counts(source, samples, tokens)
    return _build(_Builder(setup, counts))


def _resolve_setup(setup: Setup | None, fields: dict[str, Any]) -> Setup:
    if setup is None:
        return Setup(**fields)
    try:
        return dataclasses.replace(setup, **fields) if fields else setup
    except TypeError as exc:
        raise InputError(f"unknown setup field: {exc}") from None


def _resolve_counts(source: Any, samples: Any, tokens: Any) -> DataCounts:
    if source is None:
        return counts_from_numbers(samples, tokens)
    if samples is not None or tokens is not None:
        raise InputError("an audit and --samples/--tokens contradict each other; give one source of counts")
    if isinstance(source, (str, os.PathLike)) and not str(source).endswith(".json"):
        import epochplan  # lazy: running an audit needs the compiled extension

        source = epochplan.audit(source)
    return counts_from_audit(source)


def _build(b: _Builder) -> Plan:
    s, c = b.setup, b.counts
    _explain_counts(b)
    seq_len, packing, efficiency, n_items, tokens_epoch = _geometry(b)
    if s.gpus > n_items:
        raise InputError(
            f"--gpus {s.gpus} is more than the {_fmt(n_items)} samples per epoch: some devices would get no data; "
            f"use at most {_fmt(n_items)} GPUs")
    spe = _steps_per_epoch(b, n_items)
    lo, rec, hi, entries = _epoch_rule(s.regime, c, n_items, s)
    b.rationale.extend(entries)
    planned, total, budget = _budget(b, rec, spe, n_items, tokens_epoch)
    _check_epochs(b, planned, lo, hi)
    warmup = _warmup(b, total)
    eval_steps = _eval_steps(b, total, spe)
    save_steps = eval_steps
    b.why("save_steps", "save at every evaluation", f"save_steps = eval_steps = {eval_steps} (a multiple, x1)", SRC_SAVE)
    patience = _patience(b, total, spe, eval_steps)
    tokens_total = None if tokens_epoch is None else round(tokens_epoch * planned)
    ratio = effective_data_ratio(planned)
    b.why("effective_data_ratio", "value of repeated data D'/U at the planned epochs",
          f"{planned:.4g} epochs -> D'/U = {ratio:.3f} (1.00 at 1, 3.73 at 4, 15.17 at 40)", SRC_MUENNIGHOFF)
    flops = _flops(b, tokens_epoch, tokens_total, planned)
    exposure = _exposure(b, planned, spe)
    return Plan(
        setup=s, regime=s.regime, framework=s.framework,
        unique_samples=c.unique_samples, unique_level=c.unique_level,
        unique_tokens=None if c.unique_tokens is None else round(c.unique_tokens),
        samples_per_epoch=n_items, packing=packing, packing_efficiency=efficiency, seq_len=seq_len,
        epochs=EpochRange(lo, rec, hi, planned), budget=budget, global_batch_size=s.global_batch,
        steps_per_epoch=spe, total_steps=total, warmup_steps=warmup, eval_steps=eval_steps,
        save_steps=save_steps, early_stopping_patience=patience,
        tokens_per_epoch=None if tokens_epoch is None else round(tokens_epoch), tokens_total=tokens_total,
        effective_data_ratio=ratio, flops=flops, exposure=exposure,
        warnings=tuple(b.warnings), rationale=tuple(b.rationale),
    )


def _explain_counts(b: _Builder) -> None:
    c = b.counts
    if c.unique_samples is not None:
        if c.unique_level == "given":
            detail, src = f"{_fmt(c.unique_samples)} samples given, taken as unique", "--samples"
        else:
            detail = f"{_fmt(c.unique_samples)} {c.unique_level}-unique of {_fmt(c.rows or 0)} non-null rows"
            if c.unique_level == "near" and c.exact_unique is not None:
                detail += f" (exact-unique: {_fmt(c.exact_unique)})"
            src = f"{SRC_AUDIT}, {c.unique_level}.unique"
        b.why("unique_samples", "epochs count over unique samples (near-unique when available)", detail, src)
    if c.unique_tokens is not None:
        estimate = "an estimate: " if c.unique_level != "given" else ""
        b.why("unique_tokens", "tokens of the unique samples",
              f"{estimate}{_fmt(round(c.unique_tokens))} from {c.tokens_source}", SRC_AUDIT if estimate else "--tokens")
    b.why("global_batch_size", "global batch = per-device batch x grad accumulation x data-parallel size",
          f"{b.setup.per_device_batch} x {b.setup.grad_accum} x {b.setup.gpus} = {b.setup.global_batch}"
          + ("" if b.setup.batch is not None else f" (per-device batch not given: default {DEFAULT_BATCH}; pass --batch)"),
          "setup")


def _geometry(b: _Builder) -> tuple[int | None, bool, float | None, int, float | None]:
    """(seq_len, packing, efficiency, items per epoch, tokens per epoch)."""
    s, c = b.setup, b.counts
    seq_len = s.seq_len
    if seq_len is None and s.regime == "pretrain":
        seq_len = DEFAULT_PRETRAIN_SEQ_LEN
        b.why("seq_len", "pre-training needs a sequence length", f"--seq-len not given: {seq_len} assumed", "default")
    token_mode = s.regime == "pretrain" or bool(s.packing) or c.unique_samples is None
    if not token_mode:
        return seq_len, False, None, int(c.unique_samples), _sample_tokens(b, seq_len)  # type: ignore[arg-type]
    if c.unique_tokens is None:
        raise InputError("token-based planning (pre-training or --packing) needs a token count: give --tokens or an audit")
    if seq_len is None:
        what = "--packing" if c.unique_samples is not None else "--tokens without --samples"
        raise InputError(f"{what} needs --seq-len to count sequences (tokens / seq_len); give --seq-len")
    if s.packing is False and c.unique_samples is not None:
        return _unpacked(b, seq_len)
    if s.packing is False:
        raise InputError("--no-packing needs a sample count: give --samples or an audit")
    efficiency = _packing_efficiency(b, seq_len)
    sequences = math.ceil(c.unique_tokens / (seq_len * efficiency))
    b.why("samples_per_epoch", "packed sequences = ceil(unique tokens / (seq_len x packing efficiency))",
          f"ceil({_fmt(round(c.unique_tokens))} / ({seq_len} x {efficiency:.4f})) = {_fmt(sequences)}", SRC_ARITH)
    b.why("tokens_per_epoch", "packing keeps every token", f"{_fmt(round(c.unique_tokens))} tokens per epoch", SRC_ARITH)
    return seq_len, True, efficiency, sequences, c.unique_tokens


def _packing_efficiency(b: _Builder, seq_len: int) -> float:
    s, c = b.setup, b.counts
    if s.packing_efficiency is not None:
        b.why("packing_efficiency", "given", f"{s.packing_efficiency:.4f}", "--packing-efficiency")
        return s.packing_efficiency
    if c.token_lengths is None:
        b.why("packing_efficiency", "no length distribution: a concatenated token stream fills every slot",
              "1.0 assumed; pass --packing-efficiency to change", "default")
        return 1.0
    sample = synthetic_lengths(c.token_lengths, min(int(c.unique_samples or 4000), 4000))
    efficiency = ffd_efficiency(sample, seq_len)
    b.why("packing_efficiency", "first-fit-decreasing packing into seq_len slots",
          f"{efficiency:.4f} on {sample.size} synthetic lengths (estimated tokens, mean {c.token_lengths.mean:.1f}, "
          f"p99 {c.token_lengths.p99:.0f}) into {seq_len}-token sequences", SRC_FFD)
    return efficiency


def _truncated_share(c: DataCounts, seq_len: int) -> float:
    """Share of tokens kept when each sample is cut at seq_len (from the synthetic sample)."""
    if c.token_lengths is None:
        return 1.0 if c.unique_tokens is None or c.unique_samples is None else min(
            1.0, seq_len * c.unique_samples / c.unique_tokens)
    sample = synthetic_lengths(c.token_lengths, min(int(c.unique_samples or 4000), 4000))
    return float(np.minimum(sample, seq_len).sum() / sample.sum())


def _sample_tokens(b: _Builder, seq_len: int | None) -> float | None:
    c = b.counts
    if c.unique_tokens is None:
        return None
    if seq_len is None:
        b.why("tokens_per_epoch", "one pass over the unique samples", f"{_fmt(round(c.unique_tokens))} tokens", SRC_ARITH)
        return c.unique_tokens
    kept = _truncated_share(c, seq_len)
    tokens = c.unique_tokens * kept
    b.why("tokens_per_epoch", "samples truncated at seq_len, padding not counted",
          f"{_fmt(round(c.unique_tokens))} x {kept:.4f} kept = {_fmt(round(tokens))}", SRC_FFD)
    return tokens


def _unpacked(b: _Builder, seq_len: int) -> tuple[int | None, bool, float | None, int, float | None]:
    """Pre-training without packing: one sample per padded sequence."""
    c = b.counts
    n = int(c.unique_samples)  # type: ignore[arg-type]
    tokens = _sample_tokens(b, seq_len) or 0.0
    efficiency = tokens / (n * seq_len)
    b.why("packing_efficiency", "no packing: one sample per sequence, the rest is padding",
          f"{_fmt(round(tokens))} tokens / ({_fmt(n)} x {seq_len}) = {efficiency:.4f}", SRC_ARITH)
    return seq_len, False, efficiency, n, tokens


def _steps_per_epoch(b: _Builder, n_items: int) -> int:
    s = b.setup
    spe = steps_per_epoch(s.framework, n_items, s.per_device_batch, s.grad_accum, s.gpus, s.drop_last)
    if spe == 0:
        raise InputError(
            f"--drop-last with {_fmt(n_items)} samples per epoch and a global batch of {s.global_batch} leaves 0 steps; "
            "lower --batch/--grad-accum/--gpus or drop --drop-last")
    exact = n_items / s.global_batch
    b.why("steps_per_epoch", f"{s.framework} rounding of the last partial batch and accumulation window",
          f"{_fmt(n_items)} samples / global batch {s.global_batch} = {exact:.4g} -> {spe} optimizer steps"
          f" (drop_last={s.drop_last}, {s.gpus} data-parallel rank{'s' if s.gpus > 1 else ''})",
          FRAMEWORK_SOURCES[s.framework])
    if s.global_batch > n_items:
        b.warnings.append(
            f"global batch {s.global_batch} is larger than the {_fmt(n_items)} samples per epoch: every epoch is a "
            "single partial optimizer step; lower --batch, --grad-accum or --gpus")
    return spe


def _budget(b: _Builder, rec: float, spe: int, n_items: int, tokens_epoch: float | None) -> tuple[float, int, str]:
    """(planned epochs, total optimizer steps, what fixed them)."""
    s = b.setup
    if s.steps is not None:
        planned = s.steps * s.global_batch / n_items
        b.why("total_steps", "given", f"{_fmt(s.steps)} optimizer steps", "--steps")
        b.why("epochs.planned", "epochs = steps x global batch / samples",
              f"{_fmt(s.steps)} x {s.global_batch} / {_fmt(n_items)} = {planned:.4g}", SRC_ARITH)
        return planned, s.steps, "steps"
    if s.token_budget is not None:
        if not tokens_epoch:
            raise InputError("--token-budget needs a token count: give --tokens or an audit with lengths")
        planned = s.token_budget / tokens_epoch
        b.why("epochs.planned", "epochs = token budget / tokens per epoch",
              f"{_fmt(s.token_budget)} / {_fmt(round(tokens_epoch))} = {planned:.4g}", "--token-budget")
        budget, why = "token_budget", "--token-budget"
    elif s.epochs is not None:
        planned, budget, why = s.epochs, "epochs", "--epochs"
        b.why("epochs.planned", "given", f"{planned:.4g} epochs", why)
    else:
        planned, budget, why = rec, "rule", "the regime rule's recommendation"
        b.why("epochs.planned", "the recommended epochs", f"{planned:.4g} epochs", "regime rule above")
    total = max(1, math.ceil(planned * spe))
    b.why("total_steps", "total = ceil(epochs x steps per epoch) (HF Trainer's max_steps formula; exported as max_steps elsewhere)",
          f"ceil({planned:.4g} x {spe}) = {_fmt(total)} ({why})", SRC_HF)
    return planned, total, budget


def _check_epochs(b: _Builder, planned: float, lo: float, hi: float) -> None:
    s = b.setup
    if planned > hi + 1e-9:
        b.warnings.append(f"planned {planned:.3g} epochs is above the {s.regime} rule's maximum of {hi:.3g}; expect overfitting or wasted compute")
    elif planned < lo - 1e-9:
        b.warnings.append(f"planned {planned:.3g} epochs is below the {s.regime} rule's minimum of {lo:.3g}")
    if s.regime == "pretrain" or b.counts.unique_samples is None:
        if planned > 40:
            b.warnings.append(f"{planned:.3g} epochs: repeated tokens have almost no value past ~40 epochs (D'/U -> 16.4); get more data ({SRC_MUENNIGHOFF.split(',')[0]})")
        elif planned > 16:
            b.warnings.append(f"{planned:.3g} epochs: returns from repeated tokens diminish sharply past 16 epochs ({SRC_MUENNIGHOFF.split(',')[0]})")
    if s.regime == "pretrain" and s.params and b.counts.unique_tokens:
        optimal = TOKENS_PER_PARAM * s.params / b.counts.unique_tokens
        if optimal > 4:
            b.warnings.append(
                f"data-constrained: a compute-optimal run wants {optimal:.3g} epochs of this data; beyond ~4 epochs repeats "
                "lose value, so consider more unique data or a smaller model")


def _warmup(b: _Builder, total: int) -> int:
    pretrain = b.setup.regime == "pretrain"
    share = PRETRAIN_WARMUP if pretrain else FINETUNE_WARMUP
    warmup = min(max(MIN_WARMUP, round(share * total)), total // 2)
    b.why("warmup_steps", f"warm-up {share:.0%} of the run, at least {MIN_WARMUP} steps, at most half the run",
          f"max({MIN_WARMUP}, round({share} x {_fmt(total)})) = {warmup}", SRC_WARMUP_PT if pretrain else SRC_WARMUP_FT)
    return warmup


def _eval_steps(b: _Builder, total: int, spe: int) -> int:
    if total <= EVALS_MIN:
        every = 1
    else:
        every = min(max(round(total / EVALS_TARGET), _ceil_div(total, EVALS_MAX)), total // EVALS_MIN)
    every = max(1, min(every, spe))
    evals = total // every
    detail = f"every {every} steps -> {evals} evaluations in {_fmt(total)} steps, {spe / every:.3g} per epoch"
    if evals > EVALS_MAX:
        detail += " (more than 30: once per epoch wins)"
    if evals < EVALS_MIN:
        detail += " (fewer than 10: the run is too short for more)"
    b.why("eval_steps", "aim for ~20 evaluations (10-30), never less than one per epoch", detail, SRC_EVAL)
    return every


def _patience(b: _Builder, total: int, spe: int, eval_steps: int) -> int | None:
    if b.setup.regime == "pretrain":
        b.why("early_stopping_patience", "pre-training runs to its token budget", "no early stopping", SRC_CHINCHILLA)
        return None
    per_epoch = _ceil_div(spe, eval_steps)
    evals = max(1, total // eval_steps)
    # One epoch without improvement, but never less than 3 evaluations (noise) and never more
    # than a quarter of the run (else it could never fire).
    patience = min(max(3, min(per_epoch, evals // 4)), evals)
    b.why("early_stopping_patience",
          "stop after one epoch of evaluations without improvement, at least 3, at most a quarter of the run",
          f"{per_epoch} evaluations per epoch, {evals} in the run -> patience {patience}", SRC_PATIENCE)
    return patience


def _flops(b: _Builder, tokens_epoch: float | None, tokens_total: int | None, planned: float) -> float | None:
    if tokens_epoch is not None and tokens_total is not None:
        b.why("tokens_total", "tokens seen = tokens per epoch x planned epochs",
              f"{_fmt(round(tokens_epoch))} x {planned:.4g} = {_fmt(tokens_total)}", SRC_ARITH)
    if b.setup.params is None or tokens_total is None:
        return None
    flops = 6.0 * b.setup.params * tokens_total
    b.why("flops", "training FLOPs ~ 6 x params x tokens",
          f"6 x {_fmt(b.setup.params)} x {_fmt(tokens_total)} = {flops:.3g}", SRC_FLOPS)
    return flops


def _exposure(b: _Builder, planned: float, spe: int) -> Exposure | None:
    c, s = b.counts, b.setup
    if c.rows is None or c.unique_samples is None:
        return None
    top_rows = sum(c.top_counts)
    top_repeats = sum(k - 1 for k in c.top_counts)
    exposure = Exposure(
        level=c.unique_level, rows=c.rows, unique=c.unique_samples, duplicate_rows=c.duplicate_rows,
        largest_cluster=c.largest_cluster, largest_cluster_exposures=c.largest_cluster * planned,
        raw_steps_per_epoch=steps_per_epoch(s.framework, c.rows, s.per_device_batch, s.grad_accum, s.gpus, s.drop_last),
        top_share_of_rows=top_rows / c.rows if c.rows else 0.0,
        top_share_of_repeats=top_repeats / c.duplicate_rows if c.duplicate_rows else 0.0,
    )
    if c.duplicate_rows > 0:
        _duplicate_warnings(b, exposure, planned, spe)
    return exposure


def _duplicate_warnings(b: _Builder, e: Exposure, planned: float, spe: int) -> None:
    share = e.duplicate_rows / e.rows
    raw = f"an epoch over raw rows is {e.raw_steps_per_epoch} steps, not {spe}; " if e.raw_steps_per_epoch != spe else ""
    b.warnings.append(
        f"{_fmt(e.duplicate_rows)} of {_fmt(e.rows)} rows ({share:.1%}) are {e.level} duplicates: epochs are counted over "
        f"the {_fmt(e.unique)} unique samples. Train on deduplicated rows (`epochplan dedup`) or weight each row 1/k; "
        f"otherwise {raw}a cluster of size k is seen k x {planned:.3g} times "
        f"(largest: k={e.largest_cluster}, {e.largest_cluster_exposures:.3g} times)")
    b.why("exposure", "a cluster of size k is seen k x epochs times on raw rows; dedup removes the excess",
          f"dedup removes {_fmt(e.duplicate_rows)} rows; one raw pass = {e.rows / e.unique:.3g} epochs of unique data",
          SRC_HERNANDEZ)
    # Hernandez et al.: the harm comes from a small subset seen many times, not from a few pairs.
    concentrated = e.top_share_of_repeats >= 0.5 and e.top_share_of_rows <= 0.1 and e.largest_cluster >= 10
    if concentrated or e.largest_cluster_exposures >= 100:
        b.warnings.append(
            f"a small subset is repeated far more than the rest ({len(b.counts.top_counts)} largest clusters hold "
            f"{e.top_share_of_rows:.1%} of rows and {e.top_share_of_repeats:.1%} of the repeats; the largest is seen "
            f"{e.largest_cluster_exposures:.3g} times): repeated subsets hurt more than their size suggests "
            "(Hernandez et al. 2022); deduplicate or down-weight them")
