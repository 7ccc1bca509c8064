"""The model's tokenizer in an audit: loading a `tokenizer.json` (with its provenance) before
any data is read, and the token statistics the core reports, exact or estimated."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .._epochplan import TokenCounter
from ..errors import InputError, kind_of, symlink_loop_message, with_article, without_secrets

#: How the audit counts tokens without a tokenizer: UTF-8 bytes / 4 per text, rounded up.
ESTIMATE = "UTF-8 bytes / 4 per sample, rounded up"


@dataclass(frozen=True)
class TokenizerFile:
    """Which tokenizer counted an audit's tokens: the path as given and the file's sha256. Plain
    data, as an `AuditResult` keeps it: a result is pickled (multiprocessing, Ray), and the
    core's counter cannot be.

    `special_tokens_per_sample`: the tokens its post-processor adds to one sequence under
    `add_special_tokens=True` (`[CLS]`/`[SEP]`, BOS/EOS; `special_tokens` names them), which the
    counts leave out."""

    path: str
    sha256: str
    special_tokens_per_sample: int = 0
    special_tokens: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "special_tokens_per_sample": self.special_tokens_per_sample}


@dataclass(frozen=True)
class Tokenizer:
    """A loaded `tokenizer.json`: the core's counter, the path as given and the file's sha256,
    both of `data`, the file's bytes as read once (a Ray engine ships them to its workers: the
    path may be a pipe, read already, or a file changed since)."""

    counter: TokenCounter
    path: str
    sha256: str
    data: bytes = field(repr=False, compare=False)

    @property
    def file(self) -> TokenizerFile:
        counter = self.counter
        return TokenizerFile(self.path, self.sha256, counter.special_tokens_per_sample, tuple(counter.special_tokens))

    def to_dict(self) -> dict[str, Any]:
        return self.file.to_dict()


def counted_by_tokenizer(estimated: bool | None, tokenizer: object | None) -> bool:
    """Whether an audit's token counts are a tokenizer's, not the bytes/4 estimate: its token
    lengths say (`estimated`); all-null text has none, and then whether a tokenizer was given.
    The terminal and the Markdown label their numbers with it."""
    return tokenizer is not None if estimated is None else not estimated


def load_tokenizer(tokenizer: str | os.PathLike[str] | Tokenizer | None) -> Tokenizer | None:
    """Load (and so validate) a tokenizer file, or the tokenizer.json of a model folder; a
    loaded one is returned as it is. A missing, unreadable or invalid file is an InputError
    naming it."""
    if tokenizer is None or isinstance(tokenizer, Tokenizer):
        return tokenizer
    if not isinstance(tokenizer, (str, os.PathLike)) or not str(tokenizer):
        # A loaded tokenizer object is named by its type: its repr is its whole vocabulary.
        given = repr(tokenizer) if isinstance(tokenizer, (str, os.PathLike)) else with_article(kind_of(tokenizer))
        raise InputError(f"tokenizer={given}: give the path of the model's tokenizer.json")
    path = _tokenizer_file(os.fspath(tokenizer))
    # Read once: the counter and the sha256 are of the same bytes, though the path is a pipe
    # (`--tokenizer <(...)`) that a second read finds empty, or a file that changes meanwhile.
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # not "no such file" (`os.path.exists` is False for a loop)
            raise InputError(symlink_loop_message(f"tokenizer {one_line(path)}", path, exc)) from None
        raise InputError(
            _not_a_tokenizer(path, None)
            or f"cannot read tokenizer file {one_line(path)}: {exc.strerror or exc} (give the path of the model's tokenizer.json)"
        ) from None
    try:
        counter = TokenCounter.from_bytes(data, path)  # its errors name the path, in one line
    except InputError as exc:
        raise InputError(_not_a_tokenizer(path, data) or str(exc)) from None
    return Tokenizer(counter, path, hashlib.sha256(data).hexdigest(), data)


def one_line(path: str) -> str:
    """A path as a one-line message names it: as it is, or quoted with its control characters
    escaped (`"a\\nb"`, as the core writes it) when it holds any."""
    if not any(unicodedata.category(c) == "Cc" for c in path):
        return path
    return json.dumps(path, ensure_ascii=False)


#: The file a model folder keeps its fast tokenizer in (what `save_pretrained` writes).
TOKENIZER_FILE = "tokenizer.json"


def _tokenizer_file(path: str) -> str:
    """`path`, or the tokenizer.json inside it when it is a model folder (as `from_pretrained`
    takes one); a folder without one is an InputError saying how to write it."""
    if not os.path.isdir(path):
        return path
    inside = os.path.join(path, TOKENIZER_FILE)
    if os.path.lexists(inside):  # a link that loops or dangles: said by the read
        return inside
    raise InputError(
        f"tokenizer folder {one_line(path)} has no {TOKENIZER_FILE} (only a fast tokenizer's file is read): "
        f"write one with transformers' AutoTokenizer.from_pretrained(...).save_pretrained(FOLDER), "
        f"or give the file's path"
    )


#: Files of a model folder that are JSON but not its fast tokenizer (what `--tokenizer` is given
#: by mistake beside tokenizer.json), or hold a slow tokenizer's vocabulary.
_OTHER_JSON = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
    "generation_config.json",
    "vocab.json",
    "added_tokens.json",
)
#: What a Hub model id looks like (`gpt2`, `meta-llama/Llama-3.1-8B`): no file of that name.
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
_SAVE = "AutoTokenizer.from_pretrained(MODEL).save_pretrained(DIR) writes DIR/tokenizer.json"


def _not_a_tokenizer(given: str, data: bytes | None) -> str | None:
    """Why `given`, which could not be read (`data` None) or loaded, is no tokenizer.json, when
    it is something people give by mistake: a Hub name or URL, a slow (sentencepiece)
    tokenizer's model file, or another JSON file of the model folder (`data`, its bytes as read:
    the file is not read again). None: the reader's or the core's message stands."""
    name, path = os.path.basename(given), one_line(given)
    if not os.path.exists(given):
        if "://" in path:
            path = without_secrets(path)
            return (
                f"tokenizer {path}: URLs are not fetched (epochplan reads a local tokenizer.json): download it "
                f"(curl -L -o tokenizer.json '{path}') and give its path"
            )
        if _HUB_NAME.fullmatch(path) and not name.endswith(".json"):
            return (
                f"tokenizer {path}: no such file, and Hub model names are not fetched (epochplan reads a local tokenizer.json): "
                f"download it (`hf download {path} tokenizer.json --local-dir DIR`, or transformers' "
                f"AutoTokenizer.from_pretrained({path!r}).save_pretrained(DIR)) and give DIR/tokenizer.json"
            )
        return None
    if name.endswith((".model", ".spm")):
        return (
            f"{path} is a slow (sentencepiece) tokenizer file, not a tokenizer.json: convert it once with transformers "
            f"({_SAVE}; or transformers.convert_slow_tokenizer) and give that file"
        )
    if data is None:
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if isinstance(document, dict) and "model" in document and name not in _OTHER_JSON:
        return None  # a tokenizer.json the library refuses: its own message says why
    beside = os.path.join(os.path.dirname(given), TOKENIZER_FILE)
    fix = (
        f"give {one_line(beside)} beside it"
        if os.path.isfile(beside) and name != TOKENIZER_FILE
        else f"write one with transformers ({_SAVE})"
    )
    if name in _OTHER_JSON:
        return f"{path} is the model's {name}, not its tokenizer.json: {fix}"
    return f"{path} is JSON but not a Hugging Face tokenizer.json (it holds no tokenizer model): {fix}"


@dataclass(frozen=True)
class TokenLengthStats:
    """Per-sample token lengths of the non-null texts (nearest-rank quantiles), counted with the
    tokenizer, or the labelled estimate (`estimated`, UTF-8 bytes / 4 per sample) without one.

    `histogram`: `[[lo, hi, samples], ...]` power-of-two bins. `unique_lengths`: `[[length,
    samples], ...]` of the unique samples (near representatives when near detection ran, else
    exact ones), every length that occurs, ascending: the planner counts truncation and packing
    from it exactly for any sequence length."""

    mean: float
    p50: int
    p90: int
    p99: int
    max: int
    total: int
    estimated: bool
    tokenizer: str | None
    histogram: list[tuple[int, int, int]]
    unique_lengths: list[tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.max,
            "total": self.total,
            "estimated": self.estimated,
            "tokenizer": self.tokenizer,
            "histogram": [list(b) for b in self.histogram],
            "unique_lengths": [list(b) for b in self.unique_lengths],
        }


def token_stats(tokens: dict[str, Any], tokenizer: TokenizerFile | None) -> TokenLengthStats | None:
    """The typed statistics of the core's token report (None when every text is null)."""
    lengths = tokens["lengths"]
    if lengths is None:
        return None
    return TokenLengthStats(
        mean=lengths["mean"],
        p50=lengths["p50"],
        p90=lengths["p90"],
        p99=lengths["p99"],
        max=lengths["max"],
        total=lengths["total"],
        estimated=tokens["estimated"],
        tokenizer=None if tokenizer is None else tokenizer.path,
        histogram=[tuple(b) for b in tokens["histogram"]],
        unique_lengths=[tuple(b) for b in tokens["unique_lengths"]],
    )
