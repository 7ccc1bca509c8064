"""The planner's refusals of the data it was given, as their own classes: `epochplan audit` keeps
the audit and says why there is no plan for these (`plan_skipped`), and for nothing else, so that
any other error from the planner (a malformed audit, a bug) still stops the command."""

from __future__ import annotations

from ..errors import InputError


class DataCannotFill(InputError):
    """This data cannot fill this setup, which is known only from the audited numbers: more GPUs
    than samples per epoch, --drop-last leaving no step, a count past 2^63 - 1. `plan` refuses
    it (exit 2); `audit` writes the audit with no plan and this message as the reason."""


class NothingToPlan(DataCannotFill):
    """The audit has nothing to train on (`plan` refuses it; `audit` writes it with no plan and
    `why` as the reason)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"audit {why}")
        self.why = why
