"""Type stubs of the Rust extension `epochplan._epochplan` (hand-written, kept with the crate)."""

from typing import Any

__version__: str
NO_CLUSTER: int

class ExactAuditor:
    """Streaming exact-duplicate audit: `update` per batch, `summary()` at the end."""

    def __init__(self, normalize: str = "default", keep_row_ids: bool = False) -> None: ...
    def update(self, texts: Any, labels: Any | None = None) -> None:
        """Add a batch. `texts`/`labels`: objects with `__arrow_c_stream__` of strings."""
    @property
    def rows(self) -> int: ...
    def row_ids(self) -> bytes | None:
        """Exact cluster id per row as little-endian u64 (NO_CLUSTER for null text)."""
    def summary(self, with_labels: bool = False) -> dict[str, Any]: ...
