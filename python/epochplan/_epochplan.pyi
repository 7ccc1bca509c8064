"""Type stubs of the Rust extension `epochplan._epochplan` (hand-written, kept with the crate)."""

from typing import Any

__version__: str
NO_CLUSTER: int

class Auditor:
    """Streaming audit: `update` per batch, `finish_near()` once, then `summary()`; eval splits
    through `eval_begin` / `eval_update` / `eval_finish`."""

    def __init__(
        self,
        normalize: str = "default",
        keep_row_ids: bool = False,
        near: bool = False,
        threshold: float = 0.7,
        ngram: int = 5,
        shingle: str = "auto",
        num_perm: int = 128,
        memory_budget: int = 1 << 30,
        temp_dir: str | None = None,
        clustering: str = "representative",
        char_ngram: int | None = None,
    ) -> None: ...
    def update(self, texts: Any, labels: Any | None = None) -> None:
        """Add a batch. `texts`/`labels`: objects with `__arrow_c_stream__` of strings."""
    @property
    def rows(self) -> int: ...
    def finish_near(self) -> None:
        """Link and verify near duplicates (no-op without near detection)."""
    def row_ids(self) -> bytes | None:
        """Exact cluster id per row as little-endian u64 (NO_CLUSTER for null text)."""
    def near_ids(self) -> bytes | None:
        """Near cluster id per row as little-endian u64, after `finish_near`."""
    def near_similarity(self) -> bytes | None:
        """Similarity to the near representative per row as little-endian f32 (1.0 for the
        representative and its exact copies, NaN for null text), after `finish_near`."""
    def template_candidates(self, min_count: int = 2) -> list[dict[str, Any]]:
        """Openings/endings shared by at least `min_count` rows, most shared first:
        [{"side": "prefix"|"suffix", "chars", "count", "row"}]."""
    def summary(self, with_labels: bool = False) -> dict[str, Any]: ...
    def eval_begin(self) -> None: ...
    def eval_update(self, texts: Any) -> None: ...
    def eval_finish(self, max_per_eval_row: int | None = None) -> tuple[int, list[tuple[int, int]], list[tuple[int, int, float]]]:
        """(rows, exact matches [(eval_row, train_row)], near matches [(eval_row, train_row, similarity)])."""

def template_text(text: str, side: str, chars: int, normalize: str = "default") -> str:
    """The first ("prefix") or last ("suffix") `chars` characters of `text`, normalised."""

def preview(text: str, normalize: str = "default") -> str:
    """A cluster preview: the core's normalisation of `text`, cut to the preview length."""
