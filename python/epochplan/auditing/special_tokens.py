"""The `special-tokens` warning: the tokenizer's post-processor adds tokens to every sample
(`[CLS]`/`[SEP]`, BOS/EOS) that the counts, `encode(text, add_special_tokens=False)`, leave out.
Training encodes with them, so a plan without `--sample-overhead` is short of them; the warning
says how many to add, and is dropped where the plan's sample overhead already covers them."""

from __future__ import annotations

from ..errors import in_api_call, option
from .result import AuditResult, AuditWarning
from .tokenizer import TokenizerFile

SPECIAL_TOKENS = "special-tokens"
#: Tokens named in the message; a longer template is counted, not listed.
NAMED = 4


def special_tokens_warning(tokenizer: TokenizerFile | None) -> list[AuditWarning]:
    """The warning when the tokenizer's post-processor adds tokens to a single sequence."""
    if tokenizer is None or tokenizer.special_tokens_per_sample <= 0:
        return []
    n = tokenizer.special_tokens_per_sample
    names = list(tokenizer.special_tokens[:NAMED])
    shown = f" ({', '.join(names)}{', …' if len(tokenizer.special_tokens) > NAMED else ''})" if names else ""
    message = (
        f"{tokenizer.path} adds {n} special token{'s' if n != 1 else ''} per sample{shown} when training encodes with "
        f"add_special_tokens=True (the default); token counts leave them out; pass {option('--sample-overhead', n)} "
        f"{'to plan()' if in_api_call() else f'(sample_overhead={n} in Python)'} to plan with them"
    )
    return [AuditWarning(SPECIAL_TOKENS, message, 1.0, "")]


def uncovered(result: AuditResult, sample_overhead: int) -> list[AuditWarning]:
    """The audit's warnings, less `special-tokens` when `sample_overhead` (tokens the plan adds
    to every sample) is at least the tokens the tokenizer adds: the plan counts them then."""
    tokenizer = result.source.tokenizer
    if tokenizer is None or sample_overhead < tokenizer.special_tokens_per_sample:
        return list(result.warnings)
    return [w for w in result.warnings if w.id != SPECIAL_TOKENS]
