"""What a plan given data asks of the audit, imported when first called: a plan of counts or of
an audit's JSON never loads the audit's modules (polars, numpy, pyarrow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..auditing import AuditResult
    from ..auditing.result import AuditWarning


def audit(data: Any) -> AuditResult:
    """`epochplan.audit(data)`, with its defaults."""
    from ..auditing import audit as audit_data

    return audit_data(data)


def uncovered(result: AuditResult, sample_overhead: int) -> list[AuditWarning]:
    """The audit's warnings the plan does not cover (`auditing.special_tokens.uncovered`)."""
    from ..auditing.special_tokens import uncovered as not_covered

    return not_covered(result, sample_overhead)


def is_audit_result(value: Any) -> bool:
    """Whether `value` is an `AuditResult` (`epochplan.audit`'s answer)."""
    from ..auditing import AuditResult

    return isinstance(value, AuditResult)


def audit_switches() -> dict[str, bool]:
    """`epochplan.audit`'s keyword arguments (`errors.switches`): what `plan(data)` says of them."""
    from ..auditing import audit as audit_data
    from ..errors import switches

    return switches(audit_data)
