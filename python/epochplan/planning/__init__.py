"""Planning epochs and steps from the true unique counts: setup, counts read from an audit,
packing, framework rounding, epoch rules, the plan and its builder, framework exports."""

from .audit_input import DataCounts, LengthQuantiles, counts_from_audit, counts_from_numbers, nothing_to_plan
from .builder import plan
from .counts import parse_count
from .geometry import check_setup
from .model import EpochRange, Exposure, Plan, RationaleEntry
from .packing import ffd_efficiency, synthetic_lengths
from .refusals import DataCannotFill, NothingToPlan
from .rounding import steps_per_epoch
from .rules import effective_data_ratio, openai_epochs
from .setup import BUDGET_KEYS, FRAMEWORKS, REGIMES, SETUP_KEYS, Setup

__all__ = [
    "BUDGET_KEYS",
    "DataCannotFill",
    "DataCounts",
    "EpochRange",
    "Exposure",
    "FRAMEWORKS",
    "LengthQuantiles",
    "Plan",
    "REGIMES",
    "RationaleEntry",
    "check_setup",
    "SETUP_KEYS",
    "Setup",
    "counts_from_audit",
    "counts_from_numbers",
    "effective_data_ratio",
    "ffd_efficiency",
    "NothingToPlan",
    "nothing_to_plan",
    "openai_epochs",
    "parse_count",
    "plan",
    "steps_per_epoch",
    "synthetic_lengths",
]
