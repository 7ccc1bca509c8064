"""Files on the Hugging Face Hub (`hf://`) that epochplan fetches itself: a CSV or TSV file is read
from a local copy (`downloads.download`), as an http(s) one is, so that it is checked as a local
file is (its lone-`\\r` line ends, a header naming a column twice, the fields of every line, a
TSV's quoting), where polars' reader had none of these. Parquet and JSON lines files, and
patterns, stay polars' (`readers._remote_polars_part`).

A `hf://` URL names its file as polars reads it, `hf://{datasets|spaces}/{owner}/{repo}[@{revision}]/{path}`,
fetched from `{HF_ENDPOINT}/{datasets|spaces}/{owner}/{repo}/resolve/{revision}/{path}` (the
revision `main` when none is given; `HF_ENDPOINT` as `huggingface_hub` reads it, by default
https://huggingface.co: polars' reader always asks huggingface.co) with the token polars sends
(`HF_TOKEN`, else the file `huggingface-cli login` wrote, `$HF_HOME/token`), never sent on to
another host a redirect names (the Hub sends large files from its CDN, by signed URLs)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote, unquote

#: Where the Hub is when HF_ENDPOINT does not say.
DEFAULT_ENDPOINT = "https://huggingface.co"
#: `hf://` and its parts, as polars splits them: a bucket, `owner/repo` (with `@revision`), the path.
_HF_URL = re.compile(r"hf://(datasets|spaces)/([^/@]+/[^/@]+)(?:@([^/]+))?/(.+)")


def file_url(url: str) -> str | None:
    """The http(s) URL the Hub serves `url`'s file at, or None when `url` names no one file (a
    pattern, a malformed path: polars' reader says what it says)."""
    found = _HF_URL.fullmatch(url)
    if found is None or any(ch in found[4] for ch in "*?["):
        return None
    bucket, repo, revision, path = found.groups()
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/") or DEFAULT_ENDPOINT
    # The path as the repository names it (a space, `#` or `%` in it quoted for the URL); the
    # revision as `huggingface_hub` writes it, `refs%2Fconvert%2Fparquet` (a `/` quoted).
    revision = quote(unquote(revision or "main"), safe="")
    return f"{endpoint}/{bucket}/{repo}/resolve/{revision}/{quote(path)}"


def token_headers() -> dict[str, str]:
    """The Hub's `Authorization` header when a token is set (`HF_TOKEN`, else `$HF_HOME/token`,
    by default ~/.cache/huggingface/token), else none."""
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
        try:
            token = (home / "token").read_text().strip()
        except (OSError, UnicodeDecodeError):
            token = ""
    return {"Authorization": f"Bearer {token}"} if token else {}
