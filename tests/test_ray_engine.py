"""The Ray engine on a real two-node Ray cluster on loopback (`ray start` head + worker, one CPU
each): audit, leakage, conflicts, clusters and dedup through the CLI with `--engine ray` must
equal the local engine's output on the same input; then the failures (no Ray, an unreachable
address, workers killed mid-run).

Under CI (`CI=true`) a missing Ray fails: the README's test command installs `epochplan[ray]`.
Elsewhere the module is skipped without it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO, assert_clean_error, run_cli

try:
    import psutil
    import ray  # noqa: F401
except ImportError:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("ray is not installed (pip install 'epochplan[ray]'); CI runs these tests", allow_module_level=True)

RAY = str(Path(sys.executable).parent / "ray")
PYTHONPATH = os.pathsep.join(p for p in [str(REPO / "python"), os.environ.get("PYTHONPATH", "")] if p)
NODE = ["--num-cpus", "1", "--object-store-memory", "100000000", "--disable-usage-stats"]
WORDS = [f"w{i}" for i in range(3000)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def node_tmp():
    """The TMPDIR of the cluster's processes (the workers' temp files land there)."""
    folder = tempfile.mkdtemp(prefix="raytmp", dir="/tmp")  # Ray's socket paths must stay short
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(node_tmp):
    """A head node and a worker node on loopback; yields the address. Workers import epochplan
    from this checkout (PYTHONPATH), as the driver does."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    # A local `ray.init()` leaves ~/.ray/auth_token behind, after which a new head enforces token
    # auth that a joining node (and the drivers) must match: a loopback test cluster does without.
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_AUTH_MODE", "disabled")
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "RAY_USAGE_STATS_ENABLED": "0", "TMPDIR": str(node_tmp)}
    address = f"127.0.0.1:{port}"
    head = [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard", "false"]
    try:
        subprocess.run([*head, *NODE, "--temp-dir", temp], env=env, check=True, capture_output=True, timeout=120)
        worker = [RAY, "start", "--address", address, "--node-ip-address", "127.0.0.1", *NODE]
        subprocess.run(worker, env=env, check=True, capture_output=True, timeout=120)
        yield address
    finally:
        _stop(temp, address)
        shutil.rmtree(temp, ignore_errors=True)
        patch.undo()


def _stop(temp: str, address: str) -> None:
    """Kill this cluster's processes (those naming its temp folder or address, and theirs):
    `ray stop --force` would stop every Ray cluster on the machine, another test run's too."""
    own: set[psutil.Process] = set()
    for p in psutil.process_iter(["cmdline"]):
        if p.pid != os.getpid() and any(temp in part or address in part for part in p.info["cmdline"] or []):
            own.add(p)
            try:
                own.update(p.children(recursive=True))
            except psutil.Error:
                pass
    for p in own:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(list(own), timeout=30)


def _doc(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """Four train shards with exact copies (case, spacing), near copies (two words changed),
    nulls and conflicting labels, across shards; an eval split with exact and near leaks."""
    rng = random.Random(17)
    root = tmp_path_factory.mktemp("planted")
    rows: list[str | None] = []
    for i in range(2400):
        kind = rng.random()
        if i > 10 and kind < 0.12:
            rows.append((rows[rng.randrange(i)] or "none").upper())
        elif i > 10 and kind < 0.25:
            source = (rows[rng.randrange(i)] or _doc(rng, 40)).split()
            for _ in range(2):
                source[rng.randrange(len(source))] = f"edit{rng.randrange(10**6)}"
            rows.append(" ".join(source))
        elif kind < 0.27:
            rows.append(None)
        else:
            rows.append(_doc(rng, 30 + rng.randrange(30)))
    labels = [rng.choice(["pos", "neg"]) for _ in rows]
    (root / "shards").mkdir()
    for k in range(4):
        lo, hi = k * 600, (k + 1) * 600
        pl.DataFrame({"id": list(range(lo, hi)), "text": rows[lo:hi], "label": labels[lo:hi]}).write_parquet(
            root / "shards" / f"part-{k}.parquet"
        )
    leaks = [r for r in rows[::40] if r is not None]
    eval_rows = [r.replace(r.split()[3], "changed") if j % 2 else r for j, r in enumerate(leaks)] + [_doc(rng, 30) for _ in range(40)]
    pl.DataFrame({"text": eval_rows}).write_parquet(root / "eval.parquet")
    return root


def _both(args: list[str], outputs: dict[str, str], cluster: str, tmp: Path, env: dict[str, str] | None = None) -> dict[str, dict]:
    """Run the command on each engine with its outputs in its own folder; {engine: {name: path}}."""
    got = {}
    for engine in ("local", "ray"):
        folder = tmp / engine
        folder.mkdir(parents=True)
        extra = ["--engine", "ray", "--ray-address", cluster] if engine == "ray" else []
        named = {name: str(folder / file) + ("/" if file.endswith("/") else "") for name, file in outputs.items()}
        flags = [x for name, path in named.items() for x in (name, path)]
        proc = run_cli(*args, *flags, *extra, "-q", env=env) if args[0] == "audit" else run_cli(*args, *flags, *extra, env=env)
        assert proc.returncode == 0, (engine, proc.stderr)
        got[engine] = named
    return got


def _same_json(got: dict[str, dict], name: str = "--json") -> dict:
    local, ray_ = (json.loads(Path(got[e][name]).read_text()) for e in ("local", "ray"))
    assert local == ray_  # every statistic; the audit JSON names no engine and no timing
    return local


def _same_parquet(got: dict[str, dict], name: str) -> pl.DataFrame:
    local, ray_ = (pl.read_parquet(got[e][name]) for e in ("local", "ray"))
    assert local.equals(ray_), (local, ray_)
    return local


def test_audit_with_labels_leakage_and_tokenizer_equals_local(cluster, planted, tmp_path):
    from tokenizer_fixture import write_gpt2_tokenizer_json

    tokenizer = write_gpt2_tokenizer_json(tmp_path / "tokenizer.json")
    args = ["audit", str(planted / "shards"), "-t", "text", "-l", "label", "--eval", str(planted / "eval.parquet")]
    args += ["--tokenizer", str(tokenizer)]
    outputs = {"--json": "audit.json", "--clusters": "clusters.parquet", "--leakage": "leakage.parquet"}
    got = _both(args, outputs, cluster, tmp_path, env={"EPOCHPLAN_BATCH_ROWS": "250"})
    audit = _same_json(got)
    clusters = _same_parquet(got, "--clusters")
    leakage = _same_parquet(got, "--leakage")
    # What was planted was found (so equality is not between two empty answers).
    assert audit["rows"] == 2400 and clusters.height == 2400
    assert audit["exact"]["duplicate_rows"] > 100 and audit["near"]["duplicate_rows"] > audit["exact"]["duplicate_rows"]
    assert audit["conflicts"]["exact_clusters"] > 10
    assert audit["lengths"]["tokens"]["estimated"] is False
    assert set(leakage["kind"]) == {"exact", "near"}


def test_char_shingles_components_exact_verify_on_compressed_json_lines(cluster, planted, tmp_path):
    # Another reader (gzip JSON lines), the sketches a Ray worker must build itself (char
    # shingles), union-find clustering and the exact re-read on the driver.
    import gzip

    shards = tmp_path / "jsonl"
    shards.mkdir()
    for part in sorted((planted / "shards").iterdir()):
        frame = pl.read_parquet(part)
        with gzip.open(shards / (part.stem + ".jsonl.gz"), "wb") as f:
            frame.write_ndjson(f)
    (shards / "part-9-emptied-by-dedup.jsonl.gz").write_bytes(gzip.compress(b""))  # no task for it, no rows from it
    args = ["audit", str(shards), "-t", "text", "--shingle", "char", "--clustering", "components", "--verify", "exact"]
    got = _both(args, {"--json": "a.json", "--clusters": "c.parquet"}, cluster, tmp_path)
    audit = _same_json(got)
    _same_parquet(got, "--clusters")
    assert audit["near"]["duplicate_rows"] > 100


def test_multilingual_and_cjk_rows_equal_local(cluster, shared_data, tmp_path):
    frame = pl.read_parquet(shared_data / "chatterbot_multilingual.parquet")
    shards = tmp_path / "shards"
    shards.mkdir()
    for k, lang in enumerate(["chinese", "japanese", "korean", "thai", "russian", "persian"]):
        frame.filter(pl.col("lang") == lang).write_parquet(shards / f"{k}-{lang}.parquet")
    args = ["audit", str(shards), "-t", "text", "-l", "lang"]
    got = _both(args, {"--json": "a.json", "--clusters": "c.parquet"}, cluster, tmp_path)
    audit = _same_json(got)
    _same_parquet(got, "--clusters")
    # Per language (shared/data/README.md): chinese 141, japanese 219, korean 124, thai 7,
    # russian 7, persian 1633; a few utterances also repeat across languages.
    assert audit["exact"]["duplicate_rows"] >= 141 + 219 + 124 + 7 + 7 + 1633


def test_conversation_column_equals_local(cluster, planted, tmp_path):
    # A chat layout: each worker renders the messages itself, from its file's column type.
    shards = tmp_path / "chat"
    shards.mkdir()
    for part in sorted((planted / "shards").iterdir()):
        frame = pl.read_parquet(part)
        message = lambda role, text: pl.struct(pl.lit(role).alias("role"), text.alias("content"))  # noqa: E731
        turns = pl.concat_list(message("user", pl.col("text")), message("assistant", pl.col("label")))
        frame.select(pl.when(pl.col("text").is_null()).then(None).otherwise(turns).alias("messages")).write_parquet(shards / part.name)
    got = _both(["audit", str(shards)], {"--json": "a.json", "--clusters": "c.parquet"}, cluster, tmp_path)
    audit = _same_json(got)
    _same_parquet(got, "--clusters")
    assert audit["source"]["text_columns"] == ["messages"] and audit["rows"] == 2400
    assert audit["near"]["duplicate_rows"] > 100


def test_a_message_field_first_seen_past_the_head_is_in_the_examples_as_locally(cluster, tmp_path):
    # A JSON lines file whose messages show ShareGPT's `value` only past the first 2 MB: the
    # workers read every line's fields, and the driver's examples (read back on the driver) did
    # not: 'late answer' where the audited text is 'hello there\nlate answer'.
    path = tmp_path / "late.jsonl"
    with path.open("w") as f:
        for i in range(2600):
            f.write(json.dumps({"messages": [{"role": "user", "content": f"question {i} " + "lorem ipsum " * 65}]}) + "\n")
        for _ in range(3):
            f.write(
                json.dumps({"messages": [{"from": "human", "value": "hello there"}, {"role": "assistant", "content": "late answer"}]})
                + "\n"
            )
    got = _both(["audit", str(path), "--no-near"], {"--json": "a.json"}, cluster, tmp_path)
    audit = _same_json(got)
    assert audit["exact"]["top"][0]["text"] == "hello there\nlate answer"


def test_struct_field_text_and_label_equal_local(cluster, planted, tmp_path):
    # Records that nest their text and label: each worker resolves `record.text` in its file.
    shards = tmp_path / "nested"
    shards.mkdir()
    for part in sorted((planted / "shards").iterdir()):
        frame = pl.read_parquet(part)
        frame.select(record=pl.struct("text", "label")).write_parquet(shards / part.name)
    args = ["audit", str(shards), "--text", "record.text", "--label", "record.label"]
    got = _both(args, {"--json": "a.json", "--clusters": "c.parquet"}, cluster, tmp_path)
    audit = _same_json(got)
    _same_parquet(got, "--clusters")
    assert audit["source"]["text_columns"] == ["record.text"] and audit["rows"] == 2400
    assert audit["near"]["duplicate_rows"] > 100 and audit["labels"]["counts"]


def test_dedup_folder_and_file_equal_local(cluster, planted, tmp_path):
    args = ["dedup", str(planted / "shards"), "-t", "text", "--eval", str(planted / "eval.parquet")]
    got = _both(args, {"-o": "out/"}, cluster, tmp_path)
    names = sorted(p.name for p in (planted / "shards").iterdir())
    for engine in ("local", "ray"):
        assert sorted(p.name for p in Path(got[engine]["-o"]).iterdir()) == names
    kept = 0
    for name in names:
        local, ray_ = (pl.read_parquet(Path(got[e]["-o"]) / name) for e in ("local", "ray"))
        assert local.equals(ray_)
        kept += local.height
    assert 0 < kept < 2400 - 300
    # -o FILE: one file, as before.
    single = _both(args, {"-o": "kept.parquet"}, cluster, tmp_path / "single")
    whole = _same_parquet(single, "-o")
    assert whole.height == kept
    assert whole.equals(pl.concat([pl.read_parquet(Path(got["local"]["-o"]) / n) for n in names]))


def test_python_api_engine_and_ray_address(cluster, planted):
    # `engine=` and `ray_address=` in Python: the same result; data in memory is refused by name.
    code = (
        "import json, sys, polars as pl, epochplan\n"
        "path, address = sys.argv[1], sys.argv[2]\n"
        "local = epochplan.audit(path, text='text', label='label').to_dict()\n"
        "ray_ = epochplan.audit(path, text='text', label='label', engine='ray', ray_address=address).to_dict()\n"
        "assert local == ray_\n"
        "try:\n"
        "    epochplan.audit(pl.DataFrame({'text': ['a']}), engine='ray', ray_address=address)\n"
        "except epochplan.InputError as e:\n"
        "    print('refused:', e)\n"
    )
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(planted / "shards"), cluster], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "refused: engine='ray' reads files or URLs" in proc.stdout


def test_data_in_memory_is_refused_before_ray_is_started(monkeypatch, tmp_path):
    """engine='ray' started (or connected to) Ray, some ten seconds, before saying that data in
    memory is not files; a LazyFrame was not even collected for it to be refused."""
    import epochplan
    from epochplan.auditing import dedup_to_file
    from epochplan.engines.ray_engine import RayEngine

    def connect(address):
        raise AssertionError("Ray was started for data that is not files")

    monkeypatch.setattr(RayEngine, "connect", connect)
    frame = pl.DataFrame({"text": ["a b", "a b"]})
    never = pl.LazyFrame({"text": ["a"]}).select(pl.col("text").str.to_integer().cast(pl.String))  # fails if collected
    calls = [
        lambda: epochplan.audit(frame, engine="ray"),
        lambda: epochplan.audit(never, engine="ray"),
        lambda: epochplan.audit([frame], engine="ray"),
        lambda: epochplan.dedup(never, engine="ray"),
        lambda: dedup_to_file(never, tmp_path / "never.parquet", engine="ray"),
    ]
    for call in calls:
        with pytest.raises(
            epochplan.InputError, match="engine='ray' reads files or URLs; a polars (Data|Lazy)Frame is in this process's memory"
        ):
            call()


def test_unreachable_address_is_a_prompt_clean_error(planted, tmp_path):
    port = _free_port()  # closed: nothing listens there
    out = tmp_path / "a.json"
    proc = run_cli(
        "audit",
        str(planted / "shards"),
        "-t",
        "text",
        "--engine",
        "ray",
        "--ray-address",
        f"127.0.0.1:{port}",
        "--json",
        str(out),
        timeout=120,
    )
    assert_clean_error(proc, f"127.0.0.1:{port}")
    assert not out.exists()
    # From the environment as well.
    proc = run_cli(
        "audit",
        str(planted / "shards"),
        "-t",
        "text",
        "--json",
        str(out),
        env={"EPOCHPLAN_ENGINE": "ray", "RAY_ADDRESS": f"127.0.0.1:{port}"},
    )
    assert_clean_error(proc, f"127.0.0.1:{port}")


@pytest.mark.parametrize("server", ["http", "silent"])
def test_an_address_where_no_ray_listens_is_a_clean_error(planted, tmp_path, server):
    # A web server or a socket that accepts and says nothing: the connection opens, and
    # ray.init retried for minutes ("Failed to get cluster ID from GCS server").
    import http.server
    import socket
    import threading

    if server == "http":
        httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
        port, stop = httpd.server_address[1], httpd.shutdown
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    else:
        listener = socket.create_server(("127.0.0.1", 0))
        port, stop = listener.getsockname()[1], listener.close
        held: list[socket.socket] = []
        threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    try:
        args = ["audit", str(planted / "shards"), "-t", "text", "--engine", "ray", "--ray-address", f"127.0.0.1:{port}"]
        proc = run_cli(*args, "-q", timeout=120)  # a hang fails here
        assert_clean_error(proc, f"127.0.0.1:{port}", "not a Ray cluster")
    finally:
        stop()


class _Ended(KeyboardInterrupt):
    pass


@pytest.fixture
def command_handlers():
    """Handlers of SIGINT and SIGTERM as the command line's (they raise, SIGTERM its own kind),
    noting each that ran; the test's own are put back after."""
    ran: list[int] = []

    def on_signal(number: int, frame: object) -> None:
        ran.append(number)
        raise _Ended() if number == signal.SIGTERM else KeyboardInterrupt

    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in before:
        signal.signal(number, on_signal)
    yield ran, on_signal
    for number, handler in before.items():
        signal.signal(number, handler)


def test_a_ctrl_c_swallowed_while_ray_is_imported_still_ends_the_run(monkeypatch, command_handlers):
    """Ctrl-C while Ray was imported: the KeyboardInterrupt, raised inside a Cython module's
    initialisation, became a warning ("Cython module failed to patch module with custom type"),
    and the run went on to the end and exited 0. Simulated in process: the import meets the
    signal and swallows its exception, as that module does; the connection must not go on."""
    import ray as real_ray

    from epochplan.engines import ray_engine

    ran, on_signal = command_handlers
    inits: list[object] = []

    def swallowing_import():
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass
        return real_ray

    monkeypatch.setattr(ray_engine, "_import_ray", swallowing_import)
    monkeypatch.setattr(real_ray, "init", lambda **kwargs: inits.append(kwargs))
    monkeypatch.setattr(real_ray, "is_initialized", lambda: False)
    with pytest.raises(KeyboardInterrupt) as raised:
        ray_engine.RayEngine.connect(None)
    assert type(raised.value) is KeyboardInterrupt and ran == [signal.SIGINT, signal.SIGINT] and inits == []
    assert signal.getsignal(signal.SIGINT) is on_signal


def test_a_sigterm_while_ray_init_runs_ends_by_the_commands_handler(monkeypatch, command_handlers):
    """ray.init puts in its own SIGTERM handler (sys.exit(15)) before it connects: a SIGTERM
    then exited 15 (with Ray's native stack dump once its core worker was up), not 143 with the
    command's one line. Simulated in process: ray.init sets Ray's handler as it does, and the
    signal comes; the command's handler must be the one that ends it, and be back after."""
    import ray as real_ray
    from ray._private.utils import set_sigterm_handler

    from epochplan.engines import ray_engine

    ran, on_signal = command_handlers

    def init(**kwargs):
        set_sigterm_handler(lambda number, frame: sys.exit(number))  # what ray.init does first
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(real_ray, "init", init)
    monkeypatch.setattr(real_ray, "is_initialized", lambda: False)
    with pytest.raises(_Ended):
        ray_engine.RayEngine.connect(None)
    assert ran == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is on_signal


def test_without_ray_installed_the_error_says_how_to_install_it(planted, tmp_path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoRay:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ray' or name.startswith('ray.'):\n"
        "            raise ImportError('No module named ray')\n"
        "sys.meta_path.insert(0, _NoRay())\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(hide), PYTHONPATH])}
    proc = run_cli("audit", str(planted / "shards"), "-t", "text", "--engine", "ray", env=env)
    assert_clean_error(proc, "epochplan[ray]")


def _measuring_workers() -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if any("ray::measure_file" in part for part in p.info["cmdline"] or []):
            found.append(p)
    return found


def _run_killing(args: list[str], kills: int | None, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, int]:
    """Run the CLI while SIGKILLing the workers measuring files: `kills` of them (None: every one
    seen, until the run ends). Returns the finished process and the number killed."""
    # Files, not pipes: the loop below reads nothing until the end, and a report on stdout (or
    # Ray's words on stderr) past a pipe's 64 KB would block the run until the deadline.
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-m", "epochplan", *args], stdout=out, stderr=err, text=True, env={**os.environ, **env})
    killed: set[int] = set()
    deadline = time.monotonic() + 240  # a hung run fails the test instead of hanging CI
    while proc.poll() is None and time.monotonic() < deadline:
        if kills is None or len(killed) < kills:
            for worker in _measuring_workers():
                if kills is not None and len(killed) >= kills:
                    break  # two workers seen in one scan: kill only as many as asked
                if worker.pid not in killed:
                    try:
                        worker.send_signal(signal.SIGKILL)
                        killed.add(worker.pid)
                    except psutil.NoSuchProcess:
                        pass
        time.sleep(0.01)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    out.close()
    err.close()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), len(killed)


def test_killed_workers_are_retried_or_fail_cleanly(cluster, planted, tmp_path):
    env = {"EPOCHPLAN_BATCH_ROWS": "50"}  # many small batches: the run lasts long enough to be hit
    base = ["audit", str(planted / "shards"), "-t", "text", "-l", "label", "--engine", "ray", "--ray-address", cluster, "-q"]
    reference = run_cli("audit", str(planted / "shards"), "-t", "text", "-l", "label", "--json", "-", env=env)
    assert reference.returncode == 0, reference.stderr

    # One worker killed: Ray retries its file (replaying the stream), the result is the local one;
    # on stdout, alone (Ray's driver printed "(raylet) A worker died …" there, before the JSON).
    proc, killed = _run_killing([*base, "--json", "-"], kills=1, env=env)
    assert killed == 1, "no worker was measuring while the run lasted"
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(reference.stdout), proc.stdout[:500]

    # Every worker killed, again and again: past Ray's retries the run fails with one clear line
    # and writes nothing.
    out = tmp_path / "all.json"
    clusters = tmp_path / "all.parquet"
    # No progress line either: a run slowed past the progress interval by a loaded machine printed
    # one ("auditing: 0 / 2,400 rows …") beside the error.
    quiet = {**env, "EPOCHPLAN_PROGRESS_SECONDS": "100000"}
    proc, killed = _run_killing([*base, "--json", str(out), "--clusters", str(clusters)], kills=None, env=quiet)
    assert killed >= 4
    # One line of ours; beside it, what Ray's driver reports of the lost workers ("(raylet) A
    # worker died …", also while it shuts down), on stderr, not in stdout's report.
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == "", proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    ours = [line for line in lines if "(raylet)" not in line]
    assert len(ours) == 1 and ours[0].startswith("error: Ray lost the task reading"), proc.stderr
    assert not out.exists() and not clusters.exists()


def test_sigterm_during_a_ray_audit_exits_143_with_one_line(cluster, planted, tmp_path):
    # ray.init installs its own handlers: SIGTERM exited 15 with Ray's C++ stack dump.
    out = tmp_path / "a.json"
    args = ["audit", str(planted / "shards"), "-t", "text", "--engine", "ray", "--ray-address", cluster, "--json", str(out), "-q"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "epochplan", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EPOCHPLAN_BATCH_ROWS": "50"},
    )
    deadline = time.monotonic() + 240
    while proc.poll() is None and not _measuring_workers() and time.monotonic() < deadline:
        time.sleep(0.01)  # the driver is connected once a file is being measured
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 143, (proc.returncode, stderr[-2000:])
    assert stderr.strip().splitlines()[-1] == "terminated" and "SIGTERM received" not in stderr, stderr[-2000:]
    assert not out.exists()


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM, signal.SIGINT])
def test_a_signal_as_a_ray_run_finishes_exits_130_or_143_with_one_line(cluster, planted, tmp_path, sent):
    # Ray's atexit hook closed the connection after the command's signal handling: a Ctrl-C
    # there printed "Exception ignored in atexit callback … KeyboardInterrupt" and exited 0, or
    # aborted in Ray's C++ clean-up. The signal comes as the output appears, when the command
    # is closing the connection (or, if it was quicker, has exited 0).
    out = tmp_path / "a.json"
    args = ["audit", str(planted / "shards"), "-t", "text", "--engine", "ray", "--ray-address", cluster, "--json", str(out), "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "epochplan", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None and not out.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(sent)
    _, stderr = proc.communicate(timeout=240)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr[-3000:]
    code, line = (130, "interrupted") if sent == signal.SIGINT else (143, "terminated")
    assert proc.returncode in (code, 0), (proc.returncode, stderr[-3000:])
    assert stderr.strip().splitlines() == ([line] if proc.returncode else []), stderr[-3000:]


def test_workers_remove_their_downloads_of_http_files(cluster, node_tmp, planted, tmp_path):
    # A server without byte ranges (`python -m http.server`): each worker reads a local copy.
    # Ray ends its workers without the exit that removed them: a full copy per file per run
    # stayed in the nodes' temp folder.
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(planted / "shards")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        urls = [f"http://127.0.0.1:{server.server_address[1]}/part-{k}.parquet" for k in range(2)]
        driver_tmp = tmp_path / "driver-tmp"  # the driver's own copies, apart from the nodes'
        driver_tmp.mkdir()
        args = ["audit", *urls, "-t", "text", "--engine", "ray", "--ray-address", cluster, "--json", "-"]
        proc = run_cli(*args, env={"TMPDIR": str(driver_tmp)})
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 1200  # the workers did read (from their copies)
    left = [p for p in node_tmp.glob("epochplan-downloads-*/**/*") if p.is_file()]
    assert not left, left


class _CountingRanges:
    """A static file server with byte ranges (`Range: bytes=A-B`, as real file servers answer),
    counting the body bytes it sends and the requests, per file."""

    def __init__(self, root: Path) -> None:
        import functools
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        self.sent: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []  # (path, its Range header)
        lock, counter = threading.Lock(), self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send_head(self):
                with lock:
                    counter.requests.append((self.path, self.headers.get("Range", "")))
                match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
                path = Path(self.translate_path(self.path))
                if match is None or not path.is_file():
                    return super().send_head()
                data = path.read_bytes()
                start, end = int(match.group(1)), min(int(match.group(2)), len(data) - 1)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                return io.BytesIO(data[start : end + 1])

            def copyfile(self, source, outputfile):
                while chunk := source.read(64 << 10):
                    outputfile.write(chunk)
                    with lock:
                        counter.sent[self.path] = counter.sent.get(self.path, 0) + len(chunk)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_http_file_is_fetched_once_for_the_driver_and_its_workers(cluster, node_tmp, planted, tmp_path):
    """A CSV over http was downloaded whole by the driver (to open it for its columns), then again
    by the worker that measured it (with a range probe each): 2x its bytes. Workers on the
    driver's machine read the driver's checked copy: each file's bytes are sent once (and the
    1-byte probe that learns its size)."""
    root = tmp_path / "root"
    root.mkdir()
    sizes = {}
    for k in range(2):  # a file a node
        pl.read_parquet(planted / "shards" / f"part-{k}.parquet").write_csv(root / f"part-{k}.csv")
        sizes[f"/part-{k}.csv"] = (root / f"part-{k}.csv").stat().st_size
    served = _CountingRanges(root)
    try:
        urls = [f"{served.base}/part-{k}.csv" for k in range(2)]
        driver_tmp = tmp_path / "driver-tmp"
        driver_tmp.mkdir()
        args = ["audit", *urls, "-t", "text", "--engine", "ray", "--ray-address", cluster, "--json", "-", "-q"]
        proc = run_cli(*args, env={"TMPDIR": str(driver_tmp)})
    finally:
        served.close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 1200
    for path, size in sizes.items():
        assert served.sent[path] <= size + 1, (path, served.sent[path], size, served.requests)
        assert [r for p, r in served.requests if p == path] == ["bytes=0-0", ""], served.requests
    assert not [p for p in node_tmp.glob("epochplan-downloads-*/**/*") if p.is_file()]
    assert not list(driver_tmp.glob("epochplan-downloads-*"))


@pytest.mark.parametrize("change", ["none", "shorter", "longer"])
def test_a_worker_away_from_the_drivers_copy_downloads_it_once_checked_against_it(tmp_path, monkeypatch, change):
    """The worker's own function given the driver's copy of a JSON lines URL that it does not see
    (another machine): it downloads the file itself, without a range probe, counted against the
    size of the driver's copy: a file changed on the server since is an error naming the URL, not
    other rows; the worker's copy is removed when its task ends."""
    import tempfile

    from epochplan.engines.ray_tasks import measure_file
    from epochplan.errors import InputError
    from epochplan.sources.downloads import SharedCopy

    root, temp = tmp_path / "root", tmp_path / "temp"
    root.mkdir()
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    rows = [json.dumps({"text": f"row {i} of the file"}) for i in range(50)]
    (root / "d.jsonl").write_text("\n".join(rows) + "\n")
    size = (root / "d.jsonl").stat().st_size
    if change != "none":
        (root / "d.jsonl").write_text("\n".join(rows[:40] if change == "shorter" else rows + rows[:5]) + "\n")
    served = _CountingRanges(root)
    url = f"{served.base}/d.jsonl"
    elsewhere = SharedCopy(str(tmp_path / "on-the-driver" / "d.jsonl"), size, 1, 2, 3)
    try:
        if change == "none":
            measured = list(measure_file(url, ["text"], None, 20, {}, None, name=url, shared=elsewhere))
            assert len(measured) == 3
        else:
            said = (
                f"{re.escape(url)}: a Ray worker's download holds [0-9,]+ bytes, the driver's copy {size:,}: the file changed on the server"
            )
            with pytest.raises(InputError, match=said):
                list(measure_file(url, ["text"], None, 20, {}, None, name=url, shared=elsewhere))
    finally:
        served.close()
    assert served.requests == [("/d.jsonl", "")]  # one download, no probe
    assert not [p for p in temp.glob("epochplan-downloads-*/**/*") if p.is_file()]


def test_a_worker_beside_the_drivers_copy_reads_it_without_a_request(tmp_path):
    """The worker's own function on the driver's machine: the driver's copy is read, the server
    asked for nothing."""
    from epochplan.engines.ray_tasks import measure_file
    from epochplan.sources.downloads import SharedCopy

    copy = tmp_path / "copy" / "d.jsonl"
    copy.parent.mkdir()
    copy.write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(30)))
    stat = copy.stat()
    shared = SharedCopy(str(copy), stat.st_size, stat.st_dev, stat.st_ino, stat.st_mtime_ns)
    served = _CountingRanges(tmp_path)  # serves nothing the test names
    try:
        url = f"{served.base}/gone/d.jsonl"
        assert len(list(measure_file(url, ["text"], None, 10, {}, None, name=url, shared=shared))) == 3
    finally:
        served.close()
    assert served.requests == []
    assert copy.exists()  # the driver's, removed by the driver


def test_workers_that_cannot_import_epochplan_say_so(cluster, planted, tmp_path):
    # The job's workers get a PYTHONPATH whose sitecustomize hides epochplan (Ray reads the
    # job's runtime environment from this variable). Ray's message ended in a colon, its cause
    # (the worker's ImportError) cut off.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoEpochplan:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'epochplan' or name.startswith('epochplan.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'epochplan'\")\n"
        "sys.meta_path.insert(0, _NoEpochplan())\n"
    )
    job = json.dumps({"runtime_env": {"env_vars": {"PYTHONPATH": str(hide)}}})
    args = ["audit", str(planted / "shards"), "-t", "text", "--engine", "ray", "--ray-address", cluster, "-q"]
    proc = run_cli(*args, env={"RAY_JOB_CONFIG_JSON_ENV_VAR": job})
    assert_clean_error(proc, "epochplan cannot be imported on the Ray workers", "epochplan[ray]", "No module named 'epochplan'")


def test_a_cluster_without_cpus_says_the_run_waits_for_workers(monkeypatch, capsys):
    # A head started with --num-cpus 0 and no worker: no task ever started, and the run waited
    # at "0 / N rows" forever, saying nothing. Not refused: an autoscaler adds workers only once
    # tasks wait. (Faked: checked by hand on such a head.)
    from types import SimpleNamespace

    from epochplan.engines import ray_engine

    fake = SimpleNamespace(
        is_initialized=lambda: True,
        cluster_resources=lambda: {"memory": 1e9, "object_store_memory": 1e8},
        get_runtime_context=lambda: SimpleNamespace(gcs_address="10.0.0.5:6379", get_job_id=lambda: "01000000"),
    )
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake)
    monkeypatch.setattr(ray_engine, "_made", {"address": "10.0.0.5:6379", "job": "01000000"}, raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert isinstance(ray_engine.RayEngine.connect(None), ray_engine.RayEngine)  # the connection made before: kept
    assert "warning: the Ray cluster at 10.0.0.5:6379 has no CPUs yet: the run starts when workers join" in capsys.readouterr().err


def test_python_api_goes_to_the_cluster_it_is_given(cluster, planted):
    # A second audit with another ray_address ran silently on the first cluster. Now: a
    # connection epochplan made moves to the new address (here a closed port, refused by name;
    # then the cluster again: a new connection, so a new Ray job; the same cluster spelt
    # `localhost` keeps it); a connection the caller made with ray.init is theirs, used without
    # an address or with `auto` (the README's example), refused with another.
    port = cluster.rsplit(":", 1)[1]
    code = (
        "import sys, ray, epochplan\n"
        "path, address, port, closed = sys.argv[1:]\n"
        "first = epochplan.audit(path, text='text', engine='ray', ray_address=address).to_dict()\n"
        "try:\n"
        "    epochplan.audit(path, text='text', engine='ray', ray_address=closed)\n"
        "    print('ran elsewhere')\n"
        "except epochplan.InputError as e:\n"
        "    print('refused:', e)\n"
        "job = ray.get_runtime_context().get_job_id()\n"
        "again = epochplan.audit(path, text='text', engine='ray', ray_address=address).to_dict()\n"
        "assert again == first\n"
        "job = ray.get_runtime_context().get_job_id()\n"
        "assert epochplan.audit(path, text='text', engine='ray', ray_address='localhost:' + port).to_dict() == first\n"
        "assert ray.get_runtime_context().get_job_id() == job, 'the same cluster was connected to again'\n"
        "ray.shutdown()\n"
        "ray.init(address=address, log_to_driver=False)\n"
        "assert epochplan.audit(path, text='text', engine='ray').to_dict() == first\n"
        "assert epochplan.audit(path, text='text', engine='ray', ray_address='auto').to_dict() == first\n"
        "try:\n"
        "    epochplan.audit(path, text='text', engine='ray', ray_address=closed)\n"
        "    print('ran elsewhere')\n"
        "except epochplan.EpochplanError as e:\n"
        "    print('theirs:', e)\n"
        "assert ray.is_initialized()\n"
    )
    closed = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    args = [str(planted / "shards"), cluster, port, closed]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ran elsewhere" not in proc.stdout
    assert f"refused: cannot reach the Ray cluster at {closed}" in proc.stdout
    assert "theirs: Ray is already connected in this process" in proc.stdout and closed in proc.stdout


def test_a_tokenizer_error_on_a_worker_names_the_users_file_and_the_row_in_its_file(cluster, tmp_path):
    """A worker reads a copy of the tokenizer: its error named that copy
    (/tmp/epochplan-tokenizers/<sha>.json) and a row counted within one input file, unnamed."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel(vocab={"hello": 0}))  # no unknown token: "bad" cannot be tokenized
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "words.json"
    tokenizer.save(str(path))
    folder = tmp_path / "shards"
    folder.mkdir()
    pl.DataFrame({"text": ["hello"] * 16}).write_parquet(folder / "a.parquet")
    pl.DataFrame({"text": ["hello"] * 4 + ["bad"]}).write_parquet(folder / "b.parquet")
    # Batches of 3 rows: the bad row is in the second batch of b.parquet (row 4 of the file).
    env = {"EPOCHPLAN_BATCH_ROWS": "3"}
    proc = run_cli("audit", str(folder), "--tokenizer", str(path), "--engine", "ray", "--ray-address", cluster, "-q", env=env)
    assert proc.returncode == 2, proc.stderr
    assert f"tokenizer {path} cannot tokenize row 4 of " in proc.stderr and "b.parquet" in proc.stderr, proc.stderr
    assert "epochplan-tokenizers" not in proc.stderr


def test_a_tokenizer_readable_once_reaches_the_workers_as_the_driver_read_it(cluster, planted, tmp_path):
    """The driver read `--tokenizer` again to ship it: a pipe (`<(cat tok.json)`), read once
    already, gave the workers empty bytes, and the error named a worker's temporary copy. Now
    they get the bytes the driver loaded and hashed: the audit equals the local one."""
    from tokenizer_fixture import write_gpt2_tokenizer_json

    tokenizer = write_gpt2_tokenizer_json(tmp_path / "tokenizer.json")
    shards, local, on_ray = (str(planted / "shards"), tmp_path / "local.json", tmp_path / "ray.json")
    assert run_cli("audit", shards, "--tokenizer", str(tokenizer), "--json", str(local), "-q").returncode == 0
    command = [sys.executable, "-m", "epochplan", "audit", shards, "--engine", "ray", "--ray-address", cluster, "--json", str(on_ray), "-q"]
    line = " ".join(map(shlex.quote, command)) + f" --tokenizer <(cat {shlex.quote(str(tokenizer))})"
    proc = subprocess.run(line, shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got, expected = json.loads(on_ray.read_text()), json.loads(local.read_text())
    assert got["source"]["tokenizer"]["sha256"] == hashlib.sha256(tokenizer.read_bytes()).hexdigest()
    assert got["source"]["tokenizer"]["path"].startswith("/dev/fd/")
    for document in (got, expected):
        del document["source"]["tokenizer"]["path"], document["lengths"]["tokens"]["tokenizer"]
    assert got["source"]["tokenizer"] == expected["source"]["tokenizer"]
    assert got["lengths"]["tokens"] == expected["lengths"]["tokens"] and got["lengths"]["tokens"]["estimated"] is False


def test_bad_rows_read_on_a_worker_are_named_as_locally(cluster, tmp_path):
    """Text that is not UTF-8 in the second file was named "2 files (shards/a.parquet …): … row 500
    of its batch" (the good file, and a row within a batch); a bad JSON line behind a link
    named the link's absolute target. Both now read as the local engine words them."""
    folder = tmp_path / "shards"
    folder.mkdir()
    good = [f"good row {i}".encode() for i in range(30)]
    bad = [*good[:25], b"bad \xff row", *good[26:]]
    for name, values in (("a", good), ("b", bad)):
        pq.write_table(pa.table({"text": pa.array(values, pa.binary()).view(pa.string())}), folder / f"{name}.parquet")
    (tmp_path / "elsewhere").mkdir()
    lines = [json.dumps({"text": f"row {i}"}) for i in range(30)]
    lines[20] = '{"text": "cut \\ud800 in two"}'
    (tmp_path / "elsewhere" / "a.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "linked.jsonl").symlink_to(tmp_path / "elsewhere" / "a.jsonl")
    # No progress line: a Ray run that took 10 s to connect on a loaded machine printed one, and
    # the two runs' stderr must be equal.
    env = {"EPOCHPLAN_BATCH_ROWS": "10", "EPOCHPLAN_PROGRESS_SECONDS": "86400"}
    for args, said in (
        (["audit", "shards", "-q"], "shards/b.parquet: column 'text': row 25 is not valid UTF-8"),
        (["dedup", "shards", "-o", "out.parquet"], "shards/b.parquet: column 'text': row 25 is not valid UTF-8"),
        (["audit", "linked.jsonl", "-q"], "linked.jsonl: not valid JSON lines (line 21:"),
    ):
        local = run_cli(*args, cwd=tmp_path, env=env)
        ray = run_cli(*args, "--engine", "ray", "--ray-address", cluster, cwd=tmp_path, env=env)
        assert local.returncode == ray.returncode == 2, (local.stderr, ray.stderr)
        assert said in local.stderr and ray.stderr == local.stderr, (local.stderr, ray.stderr)


def _linked_inputs(root: Path) -> None:
    """A link whose target has another suffix (`dups.jsonl` -> `store.txt`) and the Hugging Face
    hub cache's layout: `snapshots/<rev>/data/<name>.parquet` -> `../../../blobs/<sha>`."""
    rng = random.Random(4)
    rows = [_doc(rng, 10) for _ in range(400)]
    (root / "k").mkdir(parents=True)
    with open(root / "k" / "store.txt", "w") as f:
        for i in range(800):
            f.write(json.dumps({"text": rows[i % 400], "id": i}) + "\n")
    (root / "k" / "dups.jsonl").symlink_to("store.txt")
    (root / "blobs").mkdir()
    (root / "snapshots" / "abc" / "data").mkdir(parents=True)
    pl.DataFrame({"text": rows[:300]}).write_parquet(root / "blobs" / "3f2a9c")
    pl.DataFrame({"text": rows[200:]}).write_parquet(root / "blobs" / "77e1d0")
    for k, blob in enumerate(("3f2a9c", "77e1d0")):
        (root / "snapshots" / "abc" / "data" / f"train-0000{k}-of-00002.parquet").symlink_to(f"../../../blobs/{blob}")


def test_a_linked_file_is_read_by_its_own_name_as_locally(cluster, tmp_path):
    """Workers read a link's resolved target, and the reader is chosen by the name: a target
    with no suffix (the hub cache's blobs) failed with an AssertionError (exit 2), one with
    another suffix was read as that format (JSON lines counted as text lines: wrong numbers,
    exit 0). The link is read under its own name, as the local engine reads it."""
    hub = tmp_path / "hub"
    _linked_inputs(hub)
    for k, target in enumerate([hub / "k" / "dups.jsonl", hub / "snapshots" / "abc" / "data"]):
        got = _both(["audit", str(target), "-t", "text"], {"--json": "a.json"}, cluster, tmp_path / f"audit{k}")
        report = _same_json(got)
        assert report["exact"]["duplicate_rows"] == (400 if k == 0 else 100), report["exact"]
        kept = _same_parquet(_both(["dedup", str(target), "-t", "text"], {"-o": "kept.parquet"}, cluster, tmp_path / f"dedup{k}"), "-o")
        assert kept.height == 400


def test_a_file_gone_before_its_worker_reads_it_is_named_as_locally(tmp_path, monkeypatch):
    """The worker's own function on a file removed after the driver listed it: the error was
    Ray's ("Ray task reading del/09.parquet failed: [Errno 2] … '/abs/del/09.parquet'"); it is
    the local engine's "del/09.parquet: cannot read rows (…)", naming the file as the user did."""
    from epochplan.engines.ray_tasks import measure_file
    from epochplan.errors import InputError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "del").mkdir()
    with pytest.raises(InputError) as raised:
        list(measure_file(tmp_path / "del" / "09.parquet", ["text"], None, 100, {}, None, name="del/09.parquet"))
    message = str(raised.value)
    assert message.startswith("del/09.parquet: cannot read rows ([Errno 2] "), message
    assert str(tmp_path) not in message


def test_templated_rows_past_the_check_cap_cluster_as_locally(cluster, tmp_path):
    """Rows that reach the near check's cap get a second chance ordered by the buckets they
    share, which the two engines number differently: the clusters must still be the same."""
    rng = random.Random(5)
    shared = _doc(rng, 80)
    rows = [f"{_doc(rng, 6)} {shared} {_doc(rng, 20)}" for _ in range(300)]
    rows += [row + " thanks" for row in rows]
    shards = tmp_path / "shards"
    shards.mkdir()
    for k in range(3):
        pl.DataFrame({"text": rows[k * 200 : (k + 1) * 200]}).write_parquet(shards / f"part-{k}.parquet")
    for verify in ("sketch", "exact"):
        args = ["audit", str(shards), "--verify", verify]
        got = _both(args, {"--json": "a.json", "--clusters": "c.parquet"}, cluster, tmp_path / verify, env={"EPOCHPLAN_BATCH_ROWS": "70"})
        audit = _same_json(got)
        clusters = _same_parquet(got, "--clusters")
        assert any(w["id"] == "near-capped" for w in audit["warnings"])  # the cap was reached
        if verify == "exact":
            assert clusters["near_id"].to_list()[300:] == list(range(300))  # every copy found its original


def test_the_callers_own_connection_serves_auto_and_ray_client(monkeypatch):
    """After the caller's own `ray.init(address="auto")`, the README's `ray_address="auto"` was
    refused ("already connected … not to auto"); so was any address on a Ray Client connection,
    which has no GCS address to compare. Another cluster's address is still refused. (Faked.)"""
    from types import SimpleNamespace

    from epochplan.engines import ray_engine
    from epochplan.errors import EngineError

    def fake(gcs: str | None) -> SimpleNamespace:
        def context() -> SimpleNamespace:
            if gcs is None:
                raise RuntimeError("Ray Client has no GCS address")
            return SimpleNamespace(gcs_address=gcs, get_job_id=lambda: "01000000")

        return SimpleNamespace(is_initialized=lambda: True, cluster_resources=lambda: {"CPU": 4.0}, get_runtime_context=context)

    monkeypatch.setattr(ray_engine, "_made", {}, raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake("127.0.0.1:6379"))
    for address in (None, "auto", "127.0.0.1:6379", "localhost:6379"):
        assert isinstance(ray_engine.RayEngine.connect(address), ray_engine.RayEngine), address
    with pytest.raises(EngineError, match="already connected"):
        ray_engine.RayEngine.connect("127.0.0.1:6380")
    monkeypatch.setattr(ray_engine, "_import_ray", lambda: fake(None))
    assert isinstance(ray_engine.RayEngine.connect("ray://head:10001"), ray_engine.RayEngine)
