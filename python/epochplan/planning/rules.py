"""The epoch rules: how many epochs each regime recommends for its data, with the published
constants they come from."""

from __future__ import annotations

import math

from .audit_input import DataCounts
from .citations import SRC_CHINCHILLA, SRC_CLASSIFIER, SRC_LIMA, SRC_MUENNIGHOFF, SRC_OPENAI, SRC_RASCHKA
from .model import RationaleEntry, epochs_text, fmt
from .rounding import ceil_div
from .setup import Setup

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


def epoch_rule(regime: str, counts: DataCounts, n_items: int, setup: Setup) -> tuple[float, float, float, list[RationaleEntry]]:
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
            "epochs",
            "pre-training without --params: one pass, at most ~4 repeats",
            "no parameter count, so no compute-optimal budget; up to 4 epochs of repeated data are almost as good as fresh data",
            SRC_MUENNIGHOFF,
        )
        return 1.0, 1.0, 4.0, [why]
    optimal = TOKENS_PER_PARAM * setup.params / tokens
    entries = [
        RationaleEntry(
            "epochs",
            "compute-optimal epochs E* = 20 x params / unique tokens",
            f"E* = 20 x {fmt(setup.params)} / {fmt(round(tokens))} = {optimal:.3g}; recommended min(E*, 4), "
            f"max min(E*, 16) (repeats beyond ~4 epochs lose value, beyond 16 mostly wasted)",
            f"{SRC_CHINCHILLA}; {SRC_MUENNIGHOFF}",
        )
    ]
    return min(optimal, 1.0), min(optimal, 4.0), min(optimal, 16.0), entries


def _classifier_rule(n: int) -> tuple[float, float, float, list[RationaleEntry]]:
    for upper, lo, typ_lo, typ_hi, hi, rec in CLASSIFIER_TABLE:
        if n <= upper:
            band = "< 1k" if upper == 999 else ("1k-10k" if upper == 10_000 else "> 10k")
            entry = RationaleEntry(
                "epochs",
                f"classifier on {band} samples: {lo}-{hi} epochs (typically {typ_lo}-{typ_hi})",
                f"{fmt(n)} unique samples -> recommended {rec}, the middle of the typical band",
                SRC_CLASSIFIER,
            )
            return float(lo), float(rec), float(hi), [entry]
    raise AssertionError("unreachable: the table ends with infinity")


def _finetune_rule(regime: str, n: int) -> tuple[float, float, float, list[RationaleEntry]]:
    rec = openai_epochs(n)
    # The range's floor is the epochs that reach 100 examples, but never above the recommendation:
    # the cookbook rounds that one down (100 // n), and for n < 4 the ceiling passes its 25.
    lo = min(rec, max(OPENAI_MIN_EPOCHS, ceil_div(OPENAI_MIN_EXAMPLES, n)))
    hi = min(OPENAI_MAX_EPOCHS, max(OPENAI_MIN_EPOCHS, OPENAI_MAX_EXAMPLES // n))
    entries = [
        RationaleEntry(
            "epochs",
            "fine-tuning: 3 epochs, adjusted so samples x epochs stays in [100, 25 000], epochs in [1, 25]",
            f"{fmt(n)} unique samples -> {epochs_text(rec)} (range {lo}-{hi})",
            SRC_OPENAI,
        )
    ]
    if n <= 1000:
        lo, hi = max(lo, min(3, rec)), min(hi, max(15, rec))
        entries.append(
            RationaleEntry("epochs", "small curated set (<= 1 000 samples): 3-15 epochs", f"range narrowed to {lo}-{hi}", SRC_LIMA)
        )
    if regime == "lora" and n > 5000:
        rec, hi = min(rec, 2), min(hi, 2)
        lo = min(lo, rec)
        entries.append(
            RationaleEntry(
                "epochs", "LoRA on a large set: at most 2 epochs", f"{fmt(n)} unique samples -> recommended {rec}, max {hi}", SRC_RASCHKA
            )
        )
    return float(lo), float(rec), float(hi), entries


# --- The plan ---------------------------------------------------------------------------------
