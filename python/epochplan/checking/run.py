"""Run the audit a check needs and judge it: the Python form of `epochplan check`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import defaults
from ..auditing import audit
from ..errors import InputError
from ..sources import parse_eval
from .baseline import check_baseline_source, load_baseline
from .verdict import CheckReport, evaluate

#: Shared settings that tune the audit, passed to audit() when set.
_NEAR_OPTIONS = (
    "near",
    "threshold",
    "shingle",
    "ngram",
    "char_ngram",
    "clustering",
    "verify",
    "num_perm",
    "memory_budget",
    "tokenizer",
    "engine",
    "ray_address",
)


def audit_for_check(
    data: Any,
    settings: Mapping[str, Any],
    eval_splits: Mapping[str, Any] | None = None,
    progress: Any = None,
    *,
    examples: bool = True,
    eval_text: Any = None,
) -> dict[str, Any]:
    """Run the audit the checks need (near duplicates on, eval splits, label) and return its dict.
    `examples=False` keeps every data text out of it (`audit(examples=False)`)."""
    kwargs: dict[str, Any] = {
        "text": settings.get("text"),
        "label": settings.get("label"),
        "normalize": settings.get("normalize") or defaults.NORMALIZE,
        "keep_clusters": False,
        "examples": examples,
    }
    if progress is not None:
        kwargs["progress"] = progress
    kwargs.update({name: settings[name] for name in _NEAR_OPTIONS if settings.get(name) is not None})
    if eval_splits:
        kwargs["eval"] = eval_splits  # as given: a DatasetDict stays one (its train split is left out)
    if eval_text is not None:
        kwargs["eval_text"] = eval_text
    return audit(data, **kwargs).to_dict()


def check(
    data: Any,
    *,
    eval: Mapping[str, Any] | Sequence[str] | None = None,
    eval_text: str | Mapping[str, str] | None = None,
    text: str | Sequence[str] | None = None,
    label: str | None = None,
    normalize: str = defaults.NORMALIZE,
    thresholds: Any = None,
    baseline: str | Path | None = None,
    allow_baseline_mismatch: bool = False,
    **near_options: Any,
) -> CheckReport:
    """Python form of `epochplan check`: audit `data` (and eval splits) and judge it.

    `eval` is {name: path} or a list of paths / NAME=PATH strings; `eval_text` their text column
    (one for every split, or {name: column}). Configuration files are not read here; pass
    `thresholds`. A baseline made from other data or settings is an InputError unless
    `allow_baseline_mismatch`; one without a source record is used with a warning.
    """
    unknown = set(near_options) - set(_NEAR_OPTIONS)
    if unknown:
        raise InputError(f"check(): unknown option(s) {', '.join(sorted(unknown))}")
    splits = eval if isinstance(eval, Mapping) else parse_eval(list(eval or []))
    settings = {"text": text, "label": label, "normalize": normalize, **near_options}
    audit_dict = audit_for_check(data, settings, splits, eval_text=eval_text)
    base = load_baseline(baseline) if baseline is not None else None
    if base is not None:
        warning = check_baseline_source(base, audit_dict, path=str(baseline), allow_mismatch=allow_baseline_mismatch)
        if warning is not None:
            warnings.warn(warning, stacklevel=2)
    near_off = "near=False" if near_options.get("near") is False else None
    return evaluate(
        audit_dict,
        thresholds,
        baseline=base,
        baseline_path=str(baseline) if baseline is not None else None,
        near_off=near_off,
        near_off_warns=near_off is None,  # this call's own near=False is a visible choice: no warning
    )
