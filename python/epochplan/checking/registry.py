"""The registry of check thresholds: each key once, with its default, its rule of validity and its
help. The `[tool.epochplan.check]` table, the `EPOCHPLAN_<KEY>` variables, the `--max-*` options
of `epochplan check` and the `Thresholds` fields are all generated from `CHECK_KEYS`."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import defaults
from ..config import Key, Resolved, choice, parse_fraction, parse_ratio, parse_whole
from ..errors import InputError

FAIL_ON = ("error", "warning")
#: What the template check reports when the share is over its limit.
TEMPLATE_SEVERITIES = ("warning", "error")

#: `[tool.epochplan.check]` keys (also `EPOCHPLAN_<KEY>` and `--<key>` on the command line).
CHECK_KEYS: tuple[Key, ...] = (
    Key("max-empty-fraction", parse_fraction, 0.0, "null + empty texts, share of rows", "check"),
    Key("max-exact-duplicate-fraction", parse_fraction, 0.01, "exact duplicate rows (rows dedup removes), share of rows", "check"),
    Key("max-near-duplicate-fraction", parse_fraction, 0.05, "near duplicate rows (exact included), share of rows", "check"),
    Key("max-leaked-rows", parse_whole, 0, "eval rows with an exact copy in train, per eval split", "check"),
    Key("max-near-leaked-rows", parse_whole, 0, "eval rows with a near (or exact) copy in train, per eval split", "check"),
    Key("max-conflicting-label-rows", parse_whole, 0, "rows in duplicate clusters whose members disagree on the label", "check"),
    Key("min-unique-samples", parse_whole, 0, "unique samples after near-dedup, at least", "check"),
    Key("max-imbalance-ratio", parse_ratio, 10.0, "largest / smallest label class (a warning)", "check"),
    Key(
        "max-template-share",
        parse_fraction,
        defaults.TEMPLATE_SHARE,
        "rows sharing one long opening/ending or one near cluster, share of non-null rows (a warning unless template-severity = error)",
        "check",
    ),
    Key(
        "template-severity",
        choice(*TEMPLATE_SEVERITIES),
        "warning",
        "status of the template check over its limit: warning or error",
        "check",
    ),
    Key("fail-on", choice(*FAIL_ON), "error", "lowest status that fails the gate: error or warning", "check"),
)

#: Check keys that are not thresholds but say how the gate judges.
_JUDGEMENT_KEYS = ("fail_on", "template_severity")
#: The keys that are thresholds: one `--<key>` option each in the Thresholds panel.
THRESHOLD_KEYS: tuple[Key, ...] = tuple(k for k in CHECK_KEYS if k.attr not in _JUDGEMENT_KEYS)


def _post_init(self: Any) -> None:
    # The same validation as the configuration file, for Python callers; the value kept is the
    # one read ('10k' is 10000 to the rules, which compare numbers).
    for key in CHECK_KEYS:
        value = getattr(self, key.attr)
        try:
            object.__setattr__(self, key.attr, key.parse(value, False))  # the dataclass is frozen
        except ValueError as exc:
            raise InputError(f"{key.attr}={value!r}: {exc}") from None


def _from_resolved(cls: type, resolved: Resolved) -> Any:
    return cls(**{f.name: resolved[f.name] for f in dataclasses.fields(cls)})


def _to_dict(self: Any) -> dict[str, Any]:
    return {key.name: getattr(self, key.attr) for key in CHECK_KEYS}


#: The thresholds of one run (frozen); fields, defaults and validation come from CHECK_KEYS.
Thresholds = dataclasses.make_dataclass(
    "Thresholds",
    [(key.attr, type(key.default), dataclasses.field(default=key.default)) for key in CHECK_KEYS],
    namespace={"__post_init__": _post_init, "from_resolved": classmethod(_from_resolved), "to_dict": _to_dict, "__module__": __name__},
    frozen=True,
)
