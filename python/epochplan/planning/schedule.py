"""The learning-rate shape of a plan as plain arithmetic: `epochplan.torch.build_scheduler` steps it
through a LambdaLR and the HTML report draws it, so both show the same numbers and drawing needs
no PyTorch."""

from __future__ import annotations

import math

WARMUP_DECAY_KINDS = ("linear", "cosine")


class WarmupDecay:
    """LR factor after `step` scheduler steps: linear warm-up from 0, then linear or cosine decay
    to `min_lr_ratio`, reached at `total` and held there. The same numbers as transformers'
    get_linear/cosine_schedule_with_warmup when min_lr_ratio is 0. A class (not a closure) so
    that LambdaLR.state_dict() can save it."""

    def __init__(self, kind: str, total: int, warmup: int, min_lr_ratio: float = 0.0) -> None:
        if kind not in WARMUP_DECAY_KINDS:
            raise ValueError(f"schedule kind={kind!r}: use one of {', '.join(WARMUP_DECAY_KINDS)}")
        if not 0 <= warmup < total:
            raise ValueError(f"schedule warmup={warmup} must be in [0, total={total})")
        self.kind, self.total, self.warmup, self.min_lr_ratio = kind, total, warmup, min_lr_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return step / self.warmup
        progress = min(1.0, (step - self.warmup) / (self.total - self.warmup))
        if self.kind == "linear":
            shape = 1.0 - progress
        else:
            shape = 0.5 * (1.0 + math.cos(math.pi * progress))
        if progress >= 1.0:
            shape = 0.0  # exactly the floor, not cos(pi) rounding
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * shape


def lr_multiplier(step: int, total: int, warmup: int, kind: str = "linear", min_lr_ratio: float = 0.0) -> float:
    """The factor on the base LR after `step` optimizer steps of a `total`-step plan."""
    return WarmupDecay(kind, total, warmup, min_lr_ratio)(step)
