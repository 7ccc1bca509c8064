"""Packing samples into fixed-length sequences: a length sample rebuilt from the audit's
quantiles, and the share of slots first-fit-decreasing packing fills."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .audit_input import LengthQuantiles

if TYPE_CHECKING:
    import numpy as np


def synthetic_lengths(q: LengthQuantiles, n: int) -> np.ndarray:
    """A deterministic length sample whose quantiles are q's: linear between p50, p90, p99 and
    max; the audit has no minimum, so the lower half is a power curve p50 * (2p)^k with k chosen
    to reproduce the mean (k = 1 is a straight line from 0)."""
    import numpy as np  # here, not above: a plan of plain counts never loads numpy

    probs = (np.arange(n) + 0.5) / n
    upper = np.interp(probs, [0.5, 0.9, 0.99, 1.0], [q.p50, q.p90, q.p99, q.max])
    upper_mass = 0.4 * (q.p50 + q.p90) / 2 + 0.09 * (q.p90 + q.p99) / 2 + 0.01 * (q.p99 + q.max) / 2
    lower_mass = q.mean - upper_mass  # what the lower half must contribute to the mean
    k = 50.0 if lower_mass <= 0 else min(max(0.5 * q.p50 / lower_mass - 1.0, 0.0), 50.0)
    lower = q.p50 * np.power(np.minimum(2 * probs, 1.0), k)
    values = np.where(probs < 0.5, lower, upper)
    return np.maximum(np.rint(values), 1).astype(np.int64)


def ffd_efficiency(lengths: np.ndarray, capacity: int) -> float:
    """Share of sequence slots filled when documents are packed first-fit-decreasing; documents
    longer than `capacity` are cut into full sequences plus a remainder (no token is dropped)."""
    import numpy as np

    lengths = np.asarray(lengths, dtype=np.int64)
    lengths = lengths[lengths > 0]
    if lengths.size == 0:
        return 1.0
    full_bins = int((lengths // capacity).sum())
    pieces = np.sort(lengths % capacity)[::-1]
    free = np.empty(pieces.size, dtype=np.int64)
    used = 0
    for piece in pieces[pieces > 0]:
        fits = np.flatnonzero(free[:used] >= piece)
        if fits.size:
            free[fits[0]] -= piece
        else:
            free[used] = capacity - piece
            used += 1
    return float(lengths.sum()) / ((full_bins + used) * capacity)
