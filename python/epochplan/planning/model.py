"""The plan as a value: every number with its rationale entry, and its JSON form (`epochplan.plan/1`)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..defaults import PLAN_SCHEMA
from . import exports
from .setup import Setup


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
    """`x` to `digits` decimals, or to `digits` significant digits below 1: 1.4e-07 epochs of a
    huge corpus stays 1.4e-07, not 0.0."""
    x = float(x)
    if x == 0 or not math.isfinite(x) or abs(x) >= 1:
        return round(x, digits)
    return float(f"{x:.{digits}g}")


def fmt(x: float) -> str:
    """Human number: 1,234 or 3.3e+09 or 0.3728."""
    if float(x).is_integer() and abs(x) < 1e12:
        return f"{int(x):,}"
    return f"{x:.4g}"


def approx(x: float, digits: int = 3) -> str:
    """A measured number for people: 1,010 and 25,177.3 (not 1.01e+03), 0.373, 3.3e+12."""
    x = float(x)
    if not math.isfinite(x) or abs(x) >= 1e12 or abs(x) < 1000:
        return f"{x:.{digits}g}"
    return f"{x:,.1f}".removesuffix(".0")


def percent(share: float, digits: int = 1) -> str:
    """A share in per cent as the report writes it, a space before the sign ("25.4 %"), never
    rounded to 100 % or 0 % when it is not ("> 99.9 %", "< 0.1 %")."""
    value, step = 100 * float(share), 10.0**-digits
    if 100 - step / 2 <= value < 100:
        return f"> {100 - step:.{digits}f} %"
    if 0 < value < step / 2:
        return f"< {step:.{digits}f} %"
    return f"{value:.{digits}f} %"


def epochs_text(epochs: float, digits: int = 4) -> str:
    """ "1 epoch", "2.5 epochs"."""
    return f"{approx(epochs, digits)} epoch{'' if float(epochs) == 1 else 's'}"


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
    #: Unique samples longer than seq_len (overhead included) and the tokens beyond it; None
    #: without --seq-len or without the audit's token-length table.
    truncated_samples: int | None = None
    truncated_tokens: int | None = None
    sample_overhead: int = 0  # tokens added to every sample (setup.sample_overhead)
    #: unique_tokens is the audit's bytes/4 estimate (not tokenizer counts, not given by --tokens).
    unique_tokens_estimated: bool = False
    #: Of unique_samples, those that leak into the audit's eval splits (exact or near copies of
    #: eval rows, which `dedup --eval` drops); counted in the plan. None without eval splits.
    leaked_samples: int | None = None

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
            "unique_tokens_estimated": self.unique_tokens_estimated,
            "leaked_samples": self.leaked_samples,
            "samples_per_epoch": self.samples_per_epoch,
            "packing": self.packing,
            "packing_efficiency": None if self.packing_efficiency is None else _round(self.packing_efficiency),
            "seq_len": self.seq_len,
            "sample_overhead": self.sample_overhead,
            "truncated_samples": self.truncated_samples,
            "truncated_tokens": self.truncated_tokens,
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
            "flops": self.flops if self.flops is None or math.isfinite(self.flops) else None,  # JSON has no Infinity
            "exposure": self.exposure.to_dict() if self.exposure else None,
            "warnings": list(self.warnings),
            "rationale": [r.to_dict() for r in self.rationale],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False) + "\n"

    def to_hf(self) -> dict[str, Any]:
        """Keyword arguments for transformers.TrainingArguments (add output_dir)."""
        return exports.to_hf(self)

    def hf_callbacks(self) -> list[Any]:
        """[EarlyStoppingCallback] for transformers.Trainer (imports transformers)."""
        return exports.hf_callbacks(self)

    def to_lightning(self) -> dict[str, Any]:
        """Keyword arguments for lightning.Trainer."""
        return exports.to_lightning(self)

    def lightning_callbacks(self) -> list[Any]:
        """[EarlyStopping(monitor="val_loss")] for lightning.Trainer(callbacks=...) (imports Lightning)."""
        return exports.lightning_callbacks(self)

    def to_composer(self) -> dict[str, Any]:
        """Keyword arguments for composer.Trainer (durations in batches)."""
        return exports.to_composer(self)

    def to_torch(self) -> dict[str, Any]:
        """Everything a hand-written training loop needs, as a plain dict."""
        return exports.to_torch(self)
