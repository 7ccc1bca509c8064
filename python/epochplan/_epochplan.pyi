"""Type stubs of the Rust extension `epochplan._epochplan` (hand-written, kept with the crate;
`python -m mypy.stubtest epochplan._epochplan` checks them against the binary).

Defaults are not repeated here: parameters shown `= ...` take the value in `DEFAULTS`."""

import os
from typing import Any, Final, Self, TypedDict, final

__all__ = [
    "__version__",
    "NO_CLUSTER",
    "DEFAULTS",
    "CHOICES",
    "Auditor",
    "Measurer",
    "band_partitions",
    "shared_buckets",
    "preview",
    "template_text",
    "shard_size",
    "memory_budget_for",
    "NULL_TOKENS",
    "TokenCounter",
    "TokenLengths",
]

class _Defaults(TypedDict):
    normalize: str
    shingle: str
    threshold: float
    ngram: int
    char_ngram: int
    clustering: str
    verify: str
    template_share: float
    num_perm: int
    memory_budget: int
    min_memory_budget: int

class _TemplateCandidate(TypedDict):
    side: str
    chars: int
    count: int
    row: int

class _TemplateSignal(TypedDict):
    source: str
    chars: int | None
    templates: int
    count: int
    rows: int
    share: float
    row: int

class _ConflictExample(TypedDict):
    rows: list[int]
    labels: list[str]

class _Conflicts(TypedDict):
    exact_clusters: int
    near_clusters: int | None
    rows: int
    examples: list[_ConflictExample]

__version__: str
NO_CLUSTER: Final[int]
"""Cluster id of rows without a cluster (null text) in `row_ids` / `near_ids`."""
DEFAULTS: Final[_Defaults]
"""Every default of the audit options, declared once in the core."""
CHOICES: Final[dict[str, list[str]]]
"""Valid values of each option that takes a name: `normalize`, `shingle`, `clustering`, `verify`."""

@final
class Auditor:
    """Streaming audit: `update` per batch, `finish_near()` once, then `summary()`; eval splits
    through `eval_begin` / `eval_update` / `eval_finish`."""

    def __new__(
        cls,
        normalize: str = ...,
        keep_row_ids: bool = False,
        near: bool = False,
        threshold: float = ...,
        ngram: int = ...,
        shingle: str = ...,
        num_perm: int = ...,
        memory_budget: int = ...,
        temp_dir: str | None = None,
        clustering: str = ...,
        char_ngram: int | None = None,
        verify: str = ...,
    ) -> Self: ...
    def set_tokenizer(self, tokenizer: TokenCounter) -> None:
        """Count tokens with `tokenizer` instead of the bytes/4 estimate; before the first batch."""
    def update(self, texts: Any, labels: Any | None = None) -> None:
        """Add a batch. `texts`/`labels`: objects with `__arrow_c_stream__` of strings. Labels
        must come with the first batch if at all (a later batch without them has none)."""
    @property
    def rows(self) -> int: ...
    def finish_near(self) -> None:
        """Link and verify near duplicates (no-op without near detection)."""
    def row_ids(self) -> bytes | None:
        """Exact cluster id per row as little-endian u64 (NO_CLUSTER for null text); None when
        created without `keep_row_ids` and given no labels."""
    def near_ids(self) -> bytes | None:
        """Near cluster id per row as little-endian u64, after `finish_near`."""
    def near_similarity(self) -> bytes | None:
        """Similarity to the near representative per row as little-endian f32 (1.0 for the
        representative and its exact copies, NaN for null text), after `finish_near`."""
    def absorb(self, measured: bytes, labels: Any | None = None) -> None:
        """Add one batch measured by a `Measurer` (its bytes), numbered on from the rows so far;
        `labels` as in `update`. Refused when measured with other settings."""
    def batch_members(self, first_row: int) -> tuple[int, bytes]:
        """After absorbing the batch that started at `first_row`: the member number of its first
        exact representative and one byte per row (1 = representative), for `band_partitions`."""
    def distinct_exact(self) -> tuple[bool, bool]:
        """Whether the unigram and bigram distinct counters still count exactly (a `Measurer`
        may skip exact sets for one that estimates: the result is the same)."""
    def finish_near_with_buckets(self, buckets: list[bytes]) -> None:
        """`finish_near` with the shared band buckets of every partition (`shared_buckets`)."""
    def exact_rows(self) -> bytes | None:
        """verify="exact", after the last `update`: rows whose texts exact verification needs,
        increasing, as little-endian u64; hand them back with `add_exact_texts` in this order."""
    def add_exact_texts(self, rows: bytes, texts: Any) -> None:
        """Raw texts (Arrow strings) of the next rows `exact_rows` asked for; `rows` as u64 LE."""
    def template_candidates(self, min_count: int = 2) -> list[_TemplateCandidate]:
        """Openings/endings shared by at least `min_count` rows, most shared first."""
    def template_signal(self) -> _TemplateSignal | None:
        """The strongest sign of a dominating template (after `finish_near` with near on)."""
    def keep_flags(self) -> bytes | None:
        """One byte (0/1) per row: the row represents its near cluster (near on, after
        `finish_near`) or its exact cluster. None without near when no row ids are kept."""
    def conflicts(self, max_examples: int = ...) -> _Conflicts | None:
        """Clusters whose members carry different labels (None without a label column); with
        near on, after `finish_near`."""
    def summary(self, with_labels: bool = False) -> dict[str, Any]: ...
    def eval_begin(self) -> None: ...
    def eval_update(self, texts: Any) -> None: ...
    def eval_exact_rows(self) -> tuple[bytes, bytes] | None:
        """Near detection with verify="exact", after the eval split's last batch: (eval rows, train
        rows) whose texts verifying its near matches needs, each increasing, as u64 LE; None
        otherwise. Hand them back with `eval_add_exact_texts`, each side in this order."""
    def eval_add_exact_texts(self, side: str, rows: bytes, texts: Any) -> None:
        """Raw texts of the next rows of `side` ("eval" or "train") `eval_exact_rows` asked for."""
    def eval_finish(
        self, max_per_eval_row: int | None = None, exclude_exact: bool = False
    ) -> tuple[int, list[tuple[int, int]], tuple[bytes, bytes, bytes]]:
        """(rows, exact matches [(eval_row, train_row)], near matches as three columns: eval_row
        (u64 LE), train_row (u64 LE), similarity (f64 LE)). `exclude_exact`: near matches leave
        out pairs matched exactly."""

def preview(text: str, normalize: str = ...) -> str:
    """A cluster preview: the core's normalisation of `text`, cut to the preview length."""

def template_text(text: str, side: str, chars: int, normalize: str = ...) -> str:
    """The first ("prefix") or last ("suffix") `chars` characters of `text`, normalised."""

def shard_size(samples: int, world_size: int, drop_last: bool = False) -> int:
    """Samples per rank and epoch under torch's DistributedSampler."""

def memory_budget_for(physical_memory: int | None = None) -> int:
    """The near-duplicate memory budget for a machine with `physical_memory` bytes."""

NULL_TOKENS: Final[int]
"""`TokenCounter.count_bytes` value of a null row."""

@final
class Measurer:
    """The audit's first stage apart from the `Auditor` (another process or machine): built
    with the auditor's settings that shape a measure, `measure` returns bytes for `absorb`."""

    def __new__(
        cls,
        normalize: str = ...,
        near: bool = False,
        threshold: float = ...,
        ngram: int = ...,
        shingle: str = ...,
        num_perm: int = ...,
        char_ngram: int | None = None,
        tokenizer: TokenCounter | None = None,
        unigrams_exact: bool = True,
        bigrams_exact: bool = True,
    ) -> Self: ...
    def measure(self, texts: Any) -> bytes:
        """Measure one batch (an object with `__arrow_c_stream__` of strings)."""

def band_partitions(measured: bytes, keep: bytes, first_member: int, partitions: int) -> list[bytes]:
    """The band-key shuffle's map: a measured batch's representatives' band entries, cut into
    `partitions` by a hash of (band, key)."""

def shared_buckets(parts: list[bytes]) -> bytes:
    """The shuffle's reduce: one partition's entries from every map, sorted; its shared buckets."""

@final
class TokenCounter:
    """Exact token counts with a Hugging Face `tokenizer.json`: the length of
    `encode(text, add_special_tokens=False)` on the raw text. Raises InputError naming the file
    when it is missing, unreadable or not a tokenizer."""

    def __new__(cls, path: str | os.PathLike[str]) -> Self: ...
    @staticmethod
    def from_bytes(data: bytes, path: str | os.PathLike[str]) -> TokenCounter:
        """The counter of a `tokenizer.json`'s bytes, read once by the caller; `path` names the
        file in errors (one line) and is not read."""
    @property
    def path(self) -> str: ...
    @property
    def special_tokens_per_sample(self) -> int:
        """Tokens the file's post-processor adds to one sequence under `add_special_tokens=True`
        (`[CLS]`/`[SEP]`, BOS/EOS: `num_special_tokens_to_add(False)`); the counts leave them out."""
    @property
    def special_tokens(self) -> list[str]:
        """Those tokens, in order (`["[CLS]", "[SEP]"]`); empty when there are none."""
    def count(self, texts: Any) -> list[int | None]:
        """Token count per row (None for null). `texts`: an object with `__arrow_c_stream__` of strings."""
    def count_bytes(self, texts: Any) -> bytes:
        """Token count per row as little-endian u32 (NULL_TOKENS for null)."""

@final
class TokenLengths:
    """Exact, mergeable distribution of per-sample token counts."""

    def __new__(cls) -> Self: ...
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
    @staticmethod
    def from_table(table: list[tuple[int, int]]) -> TokenLengths:
        """The distribution of a [(token length, samples)] table (an audit's lengths.tokens.unique_lengths)."""
    def histogram(self) -> list[list[int]]:
        """[(lo, hi, samples)] in power-of-two bins [0,1), [1,2), [2,4), ... up to the maximum."""
    def packing(self, seq_len: int, overhead: int = 0) -> tuple[int, int, float]:
        """First-fit-decreasing packing into seq_len-token sequences: (sequences, tokens, efficiency)."""
    def truncation(self, seq_len: int, overhead: int = 0) -> tuple[int, int]:
        """(samples, tokens) cut off at `seq_len` once `overhead` tokens are added to each sample."""
