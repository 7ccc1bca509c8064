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
        shingle: str = "word",
        num_perm: int = 128,
        memory_budget: int = 1 << 30,
        temp_dir: str | None = None,
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
    def summary(self, with_labels: bool = False) -> dict[str, Any]: ...
    def eval_begin(self) -> None: ...
    def eval_update(self, texts: Any) -> None: ...
    def eval_finish(self, max_per_eval_row: int | None = None) -> tuple[int, list[tuple[int, int]], list[tuple[int, int, float]]]:
        """(rows, exact matches [(eval_row, train_row)], near matches [(eval_row, train_row, similarity)])."""

def preview(text: str, normalize: str = "default") -> str:
    """A cluster preview: the core's normalisation of `text`, cut to the preview length."""

NULL_TOKENS: int

class TokenCounter:
    """Exact token counts with a Hugging Face `tokenizer.json`: the length of
    `encode(text, add_special_tokens=False)` on the raw text. Raises InputError naming the file
    when it is missing, unreadable or not a tokenizer."""

    def __init__(self, path: str) -> None: ...  # any os.PathLike works too
    @property
    def path(self) -> str: ...
    def count(self, texts: Any) -> list[int | None]:
        """Token count per row (None for null). `texts`: an object with `__arrow_c_stream__` of strings."""
    def count_bytes(self, texts: Any) -> bytes:
        """Token count per row as little-endian u32 (NULL_TOKENS for null)."""

class TokenLengths:
    """Exact, mergeable distribution of per-sample token counts."""

    def __init__(self) -> None: ...
    def add(self, counts: list[int | None]) -> None:
        """Add counts; None entries are not samples."""
    def add_bytes(self, counts: bytes) -> None:
        """Add `TokenCounter.count_bytes` output; NULL_TOKENS entries are not samples."""
    def merge(self, other: TokenLengths) -> None: ...
    @property
    def samples(self) -> int: ...
    @property
    def total(self) -> int: ...
    def summary(self) -> dict[str, Any] | None:
        """{samples, total, mean, p50, p90, p99, max} (nearest-rank quantiles), None when empty."""
    def table(self) -> list[tuple[int, int]]:
        """[(token length, samples)] for every length that occurs, ascending."""
    def truncation(self, seq_len: int, overhead: int = 0) -> tuple[int, int]:
        """(samples, tokens) cut off at `seq_len` once `overhead` tokens are added to each sample."""
