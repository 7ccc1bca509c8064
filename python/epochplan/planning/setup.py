"""The training geometry a plan is made for (`Setup`), validated once for the API, the command
line and the configuration file."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any

from ..config import Key, parse_bool
from ..defaults import MAX_WHOLE
from ..errors import InputError, keyword_errors
from .counts import MAX_EPOCHS, non_negative_int, parse_count, positive_float, positive_int, positive_number

REGIMES = ("pretrain", "finetune", "lora", "classifier")
FRAMEWORKS = ("hf", "lightning", "torch", "composer")
DEFAULT_BATCH = 8
#: Setup fields that each fix the run length; at most one may be set.
BUDGET_KEYS = ("epochs", "steps", "token_budget")


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
    token_budget: float | None = None  # an int when whole (exact past 2^53)
    sample_overhead: int = 0

    def __post_init__(self) -> None:
        def fix(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)  # the dataclass is frozen

        regime = str(self.regime).strip().lower()
        if regime not in REGIMES:
            raise InputError(f"--regime {self.regime!r}: unknown regime; use one of {', '.join(REGIMES)}")
        fix("regime", regime)
        framework = str(self.framework).strip().lower()
        if framework not in FRAMEWORKS:
            raise InputError(f"--framework {self.framework!r}: unknown framework; use one of {', '.join(FRAMEWORKS)}")
        fix("framework", framework)
        if self.params is not None:
            fix("params", positive_float(self.params, "--params"))
        if self.batch is not None:
            fix("batch", positive_int(self.batch, "--batch (per-device batch size)"))
        fix("grad_accum", positive_int(self.grad_accum, "--grad-accum"))
        fix("gpus", positive_int(self.gpus, "--gpus (data-parallel size)"))
        if self.global_batch > MAX_WHOLE:  # each is below the ceiling, their product need not be
            raise InputError(
                f"global batch {self.per_device_batch} x {self.grad_accum} x {self.gpus} (--batch x --grad-accum x --gpus) "
                f"is {self.global_batch:.3g} samples, more than {MAX_WHOLE:,}; lower one of them"
            )
        if self.seq_len is not None:
            fix("seq_len", positive_int(self.seq_len, "--seq-len"))
        for name in ("packing", "drop_last"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise InputError(f"--{name.replace('_', '-')}: expected true or false, got {value!r}")
        if self.packing_efficiency is not None:
            eff = parse_count(self.packing_efficiency, "--packing-efficiency")
            if not 0 < eff <= 1:
                raise InputError(f"--packing-efficiency {eff}: must be in (0, 1], e.g. 0.95")
            fix("packing_efficiency", eff)
        fix("sample_overhead", non_negative_int(self.sample_overhead, "--sample-overhead"))
        self._check_overrides()

    def _check_overrides(self) -> None:
        given = [name for name in ("epochs", "steps", "token_budget") if getattr(self, name) is not None]
        if len(given) > 1:
            flags = " and ".join(f"--{name.replace('_', '-')}" for name in given)
            raise InputError(f"{flags} are both set and contradict each other (each fixes the run length); give only one")
        if self.epochs is not None:
            epochs = positive_float(self.epochs, "--epochs")
            if epochs > MAX_EPOCHS:
                raise InputError(
                    f"--epochs: {self.epochs} is more than {MAX_EPOCHS:,} (2^53 - 1), the most epochs counted exactly; give fewer"
                )
            object.__setattr__(self, "epochs", epochs)
        if self.steps is not None:
            object.__setattr__(self, "steps", positive_int(self.steps, "--steps"))
        if self.token_budget is not None:
            object.__setattr__(self, "token_budget", positive_number(self.token_budget, "--token-budget"))

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


# `Setup(batch=0)` in the user's code is told "batch", as `plan(batch=0)` is, not "--batch".
Setup.__init__ = keyword_errors()(Setup.__init__)  # type: ignore[method-assign]

#: The command line's way to plan on the rows left once the leaking ones are dropped (a plan's warning).
DEDUPED_OUTPUT = "audit dedup --eval's output (or give its row count to --samples)"
#: The command that drops them, at the audit's level (`{}`: ` --level exact`, or nothing at the default).
DEDUP_EVAL = "`epochplan dedup{} --eval`"

#: Phrases of the planner's errors and warnings that `plan()` says in its own words (`keyword_errors`).
API_PHRASES = {
    "(--audit FILE or a data path)": "(an AuditResult, its dict or JSON file, or data to audit)",
    "or drop --drop-last": "or drop_last=False",
    "(check the --text column)": "(check the audit's text= column)",
    DEDUPED_OUTPUT: "plan on the rows epochplan.dedup(data, eval=...) returns (or give their count as samples=...)",
    DEDUP_EVAL.format(""): "epochplan.dedup(data, eval=...)",
    DEDUP_EVAL.format(" --level exact"): "epochplan.dedup(data, level='exact', eval=...)",
}


def plan_phrases() -> dict[str, str]:
    """`API_PHRASES`, and those of the audit `plan(data)` runs: asked at the user's call, so that
    a plan of counts never loads the audit's modules (polars, numpy, pyarrow)."""
    from ..auditing.output_columns import WARNING_PHRASES
    from ..sources.paths import SPLITS_APART

    # Of files of several splits read as one: plan() takes no eval=, the audit it plans from does.
    apart = "audit one split with epochplan.audit(), the others as its eval splits, and plan from its result (plan() takes no eval=), e.g. audit "
    return {**API_PHRASES, **WARNING_PHRASES, SPLITS_APART: apart}


def check_fields(fields: dict[str, Any]) -> None:
    """Refuse a field `Setup` has not; an option of the audit (`plan(df, text="prompt")`, which
    audits `df` with its defaults) saying to audit first."""
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(Setup)})
    if not unknown:
        return
    from ..auditing import audit  # here, not above: the audit's modules load polars, numpy and pyarrow

    options = [name for name in unknown if name in inspect.signature(audit).parameters]
    if options:
        given = ", ".join(f"{name}=..." for name in options)
        raise InputError(f"{given}: an option of the audit, not of the plan; audit first: plan(epochplan.audit(data, {given}), ...)")
    if unknown:
        known = ", ".join(f.name for f in dataclasses.fields(Setup))
        raise InputError(f"unknown setup field {', '.join(map(repr, unknown))}; the fields are {known}")


def _setup_key(name: str, help: str) -> Key:
    attr = name.replace("-", "_")

    def parse(raw: Any, textual: bool = False) -> Any:
        value = parse_bool(raw, textual) if attr in ("packing", "drop_last") else raw
        try:
            return getattr(Setup(**{attr: value}), attr)  # Setup's own validation, one rule for every entry point
        except InputError as exc:
            raise ValueError(str(exc)) from None

    parse.metavar = _METAVARS.get(attr, "NUMBER")  # type: ignore[attr-defined]  # what --help shows

    return Key(name, parse, getattr(_DEFAULT_SETUP, attr), help, section="plan")


_DEFAULT_SETUP = Setup()
#: Whole numbers, written as people write counts (2k, 1,000, 1e3: numbers.py).
_COUNTS = ("batch", "grad_accum", "gpus", "seq_len", "steps", "sample_overhead")
_METAVARS = {
    "regime": "|".join(REGIMES),
    "framework": "|".join(FRAMEWORKS),
    "packing_efficiency": "FRACTION",
    **{name: "COUNT" for name in _COUNTS},
}

#: `[tool.epochplan.plan]` keys (also `EPOCHPLAN_<KEY>` and `--<key>`): one per Setup field.
SETUP_KEYS: tuple[Key, ...] = tuple(
    _setup_key(name, help)
    for name, help in (
        ("regime", f"training regime: {'|'.join(REGIMES)}"),
        ("params", "model parameters: 7e9, 7B, 350M"),
        ("batch", f"per-device batch size (default {DEFAULT_BATCH})"),
        ("grad-accum", "gradient accumulation steps"),
        ("gpus", "data-parallel size"),
        ("seq-len", "sequence length in tokens"),
        ("packing", "pack samples into seq-len sequences (default: pretrain only)"),
        ("packing-efficiency", "share of sequence slots filled (default: first-fit-decreasing estimate)"),
        ("framework", f"step rounding of {'|'.join(FRAMEWORKS)}"),
        ("drop-last", "DataLoader drops the last partial batch"),
        ("epochs", "override: train this many epochs"),
        ("steps", "override: train this many optimizer steps"),
        ("token-budget", "override: train on this many tokens"),
        (
            "sample-overhead",
            "tokens added to every sample (chat template, special tokens), counted in truncation, packing and token budgets",
        ),
    )
)
assert [k.attr for k in SETUP_KEYS] == [f.name for f in dataclasses.fields(Setup)], "one key per Setup field"
