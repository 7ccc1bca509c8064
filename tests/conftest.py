"""Shared test helpers: the real datasets in ../shared/data and the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The CLI children run off a terminal at its own width unless a test asks for one: pytest-xdist's
# workers set COLUMNS=80 and LINES=24 (and a developer's shell may export them), which wrapped
# every long line of the CLI's output at 80 columns.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EPOCHPLAN_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    # Not a skip: these facts are part of what the suite checks, so a missing folder is a failure.
    assert SHARED_DATA.is_dir(), f"real datasets not found at {SHARED_DATA} (set EPOCHPLAN_SHARED_DATA)"
    return SHARED_DATA


def default_signals() -> None:
    """`preexec_fn` of a CLI child a test sends signals to: the ending signals at their defaults,
    as a shell at a terminal starts a command, whatever this test run inherited (CI under
    `nohup` ignores SIGHUP; a background job of a script ignores SIGINT and SIGQUIT, and a
    command keeps a signal its parent ignored)."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300):
    """Run `python -m epochplan ARGS` and return the CompletedProcess (text mode)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "epochplan", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def audit_json(*args: str, **kwargs) -> dict:
    proc = run_cli("audit", *args, "--json", "-", **kwargs)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_clean_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2, exactly one line on stderr naming the problem, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def write_compressed(path: Path, text: str) -> None:
    """`text` as UTF-8 into `path`, gzip- or zstd-compressed when its name ends in `.gz` or `.zst`."""
    import gzip

    import zstandard

    data = text.encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)


#: The token the local Hub (`hub`) asks for.
HUB_TOKEN = "hf_local_test_token"


@pytest.fixture
def hub(tmp_path):
    """A local Hugging Face Hub for `hf://datasets/user/repo/NAME`: (the folder its files are
    written to, the environment that points epochplan at it: HF_ENDPOINT, HF_TOKEN). Its files
    need the token; `cdn/NAME` is served by a redirect to another host (`localhost`), as the Hub
    sends large files from its CDN, which refuses a request that carries the token (as a signed
    S3 URL does)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = tmp_path / "hub-root"
    files = root / "datasets" / "user" / "repo" / "resolve" / "main"
    files.mkdir(parents=True)

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_head(self):
            token = self.headers.get("Authorization")
            if self.path.startswith("/cdn/"):
                if token is not None:
                    self.send_error(400, "only one auth mechanism allowed")
                    return None
                self.path = "/datasets/user/repo/resolve/main" + self.path
            elif token != f"Bearer {HUB_TOKEN}":
                self.send_error(401)
                return None
            elif "/resolve/main/cdn/" in self.path:
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{port}/cdn/{self.path.rsplit('/cdn/', 1)[1]}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return super().send_head()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield files, {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_TOKEN": HUB_TOKEN}
    finally:
        server.shutdown()
        server.server_close()
