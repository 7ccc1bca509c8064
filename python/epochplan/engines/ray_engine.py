"""The Ray engine's driver: plain Ray tasks over the input files measure batches on the
cluster; this process absorbs them strictly in input order.

Why plain tasks, one per file, and not Ray Data: a file read by the very reader the local
engine uses, with the same batch boundaries, gives the core the same batches, so every number
(down to the distinct-count estimates) is the local engine's; every input format works without
a Ray Data datasource per format; and input order is the order the driver asks for the files'
streams, with no reordering to undo. Each task is a streaming generator: the driver reads a
file's measured batches as they come, and Ray's generator backpressure stops a task that runs
`_BACKLOG` batches ahead, so what waits in the object store is bounded by
(files in flight) x `_BACKLOG` batches, whatever the input size.

What stays on the driver: the exact table, the near index (sketches spill to temp files past the
memory budget) and the clustering; what would be distributed next is in ARCHITECTURE.md
("Engines") and benchmarks/RESULTS.md (the 1B-document plan)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import interrupts
from .._epochplan import Auditor
from ..errors import EngineError, EpochplanError, InputError, option
from ..outputs import uninterrupted
from ..sources import Source
from ..sources.downloads import SharedCopy, shared_copy
from ..sources.remote import first_line, is_remote
from .base import MeasureSpec, ProgressCallback

#: Measured batches a file's task may run ahead of the driver.
_BACKLOG = 2
#: Times a file is read again after its task was lost.
_RETRIES = 3
#: Seconds to wait for a TCP connection to the cluster's address before giving up.
_CONNECT_TIMEOUT = 10.0
#: The signals a command handles (`cli/root.py`, `interrupts.ENDINGS`): its handlers are put back after ray.init.
_SIGNALS = tuple(interrupts.ENDINGS)
_INSTALL = "install it with: pip install 'epochplan[ray]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError(f"engine='ray' needs Ray, which is not installed; {_INSTALL}") from None
    return ray


def _check_reachable(address: str) -> None:
    """Ray retries an unreachable address for minutes; a closed port is refused at once here."""
    where = address.removeprefix("ray://")
    host, sep, port = where.rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(f"{option('--ray-address', address)}: give HOST:PORT (e.g. 127.0.0.1:6379), ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_CONNECT_TIMEOUT) as connection:
            answer = _grpc_answer(connection)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise InputError(
            f"cannot reach the Ray cluster at {address} ({reason}); start it (ray start --head) or fix --ray-address / RAY_ADDRESS"
        ) from None
    if not answer:
        raise InputError(
            f"{option('--ray-address', address)}: something listens there, but not a Ray cluster (no gRPC server answers); "
            "give the head node's GCS port (ray start --head prints it; 6379 by default) or ray://HOST:10001"
        )


#: Seconds a gRPC server has to answer once connected (it answers at once).
_ANSWER_TIMEOUT = 3.0
#: The HTTP/2 connection preface and an empty SETTINGS frame: what a gRPC client sends first.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def _grpc_answer(connection: socket.socket) -> bool:
    """Whether an HTTP/2 (gRPC) server is on the other end: Ray's GCS and client server both
    are, and answer a client's preface with their SETTINGS frame. Anything else (a web server, a
    bare socket) would take ray.init minutes of retries to give up on."""
    connection.settimeout(_ANSWER_TIMEOUT)
    try:
        connection.sendall(_HTTP2_PREFACE)
        head = b""
        while len(head) < 9:
            chunk = connection.recv(9 - len(head))
            if not chunk:
                break
            head += chunk
    except OSError:  # reset or silent past the timeout
        return False
    return len(head) == 9 and head[3] == 4  # frame type 4: SETTINGS


@contextlib.contextmanager
def _signals_kept() -> Iterator[None]:
    """Importing Ray and ray.init, with a Ctrl-C or SIGTERM that comes meanwhile never lost.

    The command's handler raises KeyboardInterrupt, but raised inside the initialisation of one
    of Ray's Cython modules it is turned into a warning ("Cython module failed to patch module
    with custom type") and the import goes on: the run completed and exited 0. And ray.init puts
    in its own SIGTERM handler (sys.exit(15)): the command exited 15. Here the command's handlers
    are wrapped to note what came; a signal whose exception did not come out of the block, or
    Ray's exit for a SIGTERM, is handed to the command's handler again once the block is done
    and the handlers are back (the command exits 130 / 143 with its one line). Handlers that are
    not Python's (the default, ignored) are left alone: nothing to lose."""
    handlers: dict[int, Any] = {number: signal.getsignal(number) for number in _SIGNALS}
    arrived: list[int] = []

    def noting(number: int, frame: Any) -> None:
        arrived.append(number)
        handlers[number](number, frame)

    main = threading.current_thread() is threading.main_thread()
    for number, handler in handlers.items():
        if main and callable(handler):
            signal.signal(number, noting)
    try:
        yield
    except SystemExit as e:  # ray.init's SIGTERM handler: the command's own does the ending
        if not (main and e.code == signal.SIGTERM and callable(handlers[signal.SIGTERM])):
            raise
        arrived.append(signal.SIGTERM)
    except Exception:  # what a swallowed interrupt left behind (a half-imported module) is not the outcome
        if not arrived:
            raise
    finally:
        _restore(handlers)
    if arrived:
        handlers[arrived[-1]](arrived[-1], None)


def _restore(handlers: dict[int, Any]) -> None:
    """The command's own signal handlers back after ray.init, which installs Ray's (SIGTERM
    then exits 15 with a C++ stack dump instead of the command's clean-up and exit 143)."""
    for number, handler in handlers.items():
        if callable(handler) or handler in (signal.SIG_DFL, signal.SIG_IGN):
            try:
                signal.signal(number, handler)
            except ValueError:  # not the main thread: Ray did not install handlers either
                pass


#: The connection epochplan made: what it was asked for ("address": as the user wrote it, or
#: `a new local instance`) and its Ray job ("job"); empty when none. The job tells it from one
#: the caller made since (ray.shutdown() then their own ray.init()).
_made: dict[str, str | None] = {}


def _job(ray: Any) -> str | None:
    try:
        return str(ray.get_runtime_context().get_job_id())
    except Exception:  # a Ray Client connection may not say
        return None


def _ours(ray: Any) -> bool:
    """Whether this process's Ray connection is the one epochplan made (not the caller's)."""
    if _made and ray.is_initialized() and _made["job"] == _job(ray):
        return True
    _made.clear()
    return False


def _connected_to(ray: Any) -> list[str]:
    """The names of the cluster this process is connected to: what epochplan's connection was
    asked for (the first, as the user wrote it, for messages), and the GCS address."""
    gcs = _gcs_address(ray)
    asked = [str(_made["address"])] if _ours(ray) else []
    return [*asked, *([gcs] if gcs else [])] or ["the connected Ray cluster"]


def _gcs_address(ray: Any) -> str | None:
    try:
        return str(ray.get_runtime_context().gcs_address) or None
    except Exception:  # a Ray Client connection (ray://) has no GCS address here
        return None


def _same_address(a: str, b: str) -> bool:
    """Whether two HOST:PORT addresses name one cluster: `localhost:6379` and `127.0.0.1:6379`
    do. Compared as written when either is not HOST:PORT or a host does not resolve."""
    if a == b:
        return True

    def endpoint(address: str) -> tuple[str, str] | None:
        host, sep, port = address.removeprefix("ray://").rpartition(":")
        if not sep or not port.isdigit():
            return None
        try:
            return socket.gethostbyname(host.strip("[]")), port
        except OSError:
            return None

    ends = endpoint(a), endpoint(b)
    return ends[0] is not None and ends[0] == ends[1]


def _cluster_errors_to_stderr(ray: Any) -> None:
    """Send what the cluster reports to the driver (a worker died, a node's raylet ended, with
    its last log lines) to stderr. Ray's driver prints these to stdout (`listen_error_messages`
    calls `print_to_stdstream` with `is_err` False), where `--json -` writes the report: one
    worker lost and retried, and stdout was 8 KB of Ray's words before the JSON, which no
    reader could parse. `print_to_stdstream` is private to Ray, looked up by name on each
    message: left as it is if a Ray version has none."""
    module = getattr(getattr(ray, "_private", None), "worker", None)
    printer = getattr(module, "print_to_stdstream", None)
    if printer is None or getattr(printer, "epochplan_stderr", False):
        return

    def to_stderr(data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return printer({**data, "is_err": True}, *args, **kwargs)

    to_stderr.epochplan_stderr = True  # type: ignore[attr-defined]
    module.print_to_stdstream = to_stderr


def disconnect() -> None:
    """Close the Ray connection epochplan made (none made, or the caller's own: nothing to do).

    The command line calls this before it exits: left to Ray's atexit hook, the shutdown ran
    after the command's signal handling, so a Ctrl-C or SIGTERM then printed Ray's traceback
    ("Exception ignored in atexit callback") and exited 0, or aborted in Ray's C++ clean-up. A
    signal during the shutdown waits for it to finish (half a shutdown is what aborted), then is
    raised again here, so the caller exits 130 / 143 after a whole one."""
    ray = sys.modules.get("ray")
    if ray is None or not _ours(ray):
        return
    try:
        with uninterrupted():
            ray.shutdown()
    finally:
        _made.clear()


class RayEngine:
    name = "ray"

    def __init__(self, ray: Any) -> None:
        self._ray = ray
        #: Per absorbed batch, the refs of its band-key partitions (the shuffle's map outputs).
        self._maps: list[list[Any]] = []
        self._partitions = 1
        self._near = False

    @classmethod
    def connect(cls, address: str | None) -> RayEngine:
        """Join the cluster at `address` (or `RAY_ADDRESS`; `auto` finds a local one); with
        neither, start Ray on this machine, as `ray.init()` does.

        A process already connected keeps its connection when `address` is left out or names
        the same cluster (a notebook connects once). Another `address` is another cluster: a
        connection epochplan made is closed and the new one made (the run goes where it was
        asked to, not silently to the last cluster); one the caller made with `ray.init` is
        theirs to close, so that is refused."""
        with _signals_kept():
            ray = _import_ray()
        # The driver reports a failed task itself (once, as an error); Ray would also log the
        # errors of the tasks cancelled after it as "unhandled".
        os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
        if ray.is_initialized():
            current = _connected_to(ray)
            # `auto` means "the cluster this process can find", and a connected one is found.
            if address is None or address == "auto" or any(_same_address(address, name) for name in current):
                return cls._ready(ray, current[0])
            if not _ours(ray) and _gcs_address(ray) is None:  # a Ray Client connection: nothing to compare
                return cls._ready(ray, current[0])
            if not _ours(ray):  # the caller's own ray.init
                raise EngineError(
                    f"Ray is already connected in this process to {current[0]} (by ray.init), not to {address}: "
                    "call ray.shutdown() first, or leave out ray_address to run there"
                )
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address is not None and address != "auto":
            _check_reachable(address)
        if ray.is_initialized():
            disconnect()  # epochplan's connection to another cluster
        options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": True}
        if address is None:
            options["include_dashboard"] = False
        with _signals_kept():  # a signal meanwhile ends the command once the connection is recorded
            try:
                ray.init(address=address, **options)
            except Exception as e:  # ray raises ConnectionError, RuntimeError, ValueError …
                raise InputError(f"cannot connect to the Ray cluster at {address or 'a new local instance'}: {first_line(e)}") from None
            _made.update(address=address or "a new local instance", job=_job(ray))
        return cls._ready(ray, _connected_to(ray)[0])

    @classmethod
    def _ready(cls, ray: Any, where: str) -> RayEngine:
        """The engine on the cluster, what it reports to the driver sent to stderr. With no CPU
        yet no task starts, and the run waited at 0 rows saying nothing; it is not refused, as an
        autoscaling cluster (a head started with --num-cpus 0, KubeRay's usual layout) adds
        workers only once tasks wait: it says so."""
        _cluster_errors_to_stderr(ray)
        if not ray.cluster_resources().get("CPU", 0) > 0:
            print(
                f"warning: the Ray cluster at {where} has no CPUs yet: the run starts when workers join "
                f"(an autoscaler adds them now; else start some: ray start --address {where}); Ctrl-C stops it",
                file=sys.stderr,
                flush=True,
            )
        return cls(ray)

    def ingest(
        self,
        auditor: Auditor,
        source: Source,
        columns: list[str],
        label: str | None,
        batch_rows: int,
        spec: MeasureSpec,
        progress: ProgressCallback | None,
    ) -> None:
        from .ray_tasks import band_map, measure_file

        ray = self._ray
        self._near = bool(spec.measurer.get("near"))
        # Reduce tasks of the band-key shuffle: a few per CPU, so they balance.
        self._partitions = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
        mapper = ray.remote(band_map).options(num_returns=self._partitions)
        files = _files(source)
        tokenizer = spec.tokenizer  # the driver's bytes: the path may be a pipe, read already
        # Retries are the driver's, not Ray's: the driver knows how many of the file's batches it
        # has absorbed and asks the new task to skip measuring them (Ray would replay the whole
        # generator), and it first cancels the files behind it, whose tasks, stopped by
        # backpressure, hold the CPUs the retry needs (with Ray's retry the run hung there).
        task = ray.remote(measure_file).options(num_returns="streaming", _generator_backpressure_num_objects=_BACKLOG, max_retries=0)
        tokenizer_ref = ray.put(tokenizer)

        def submit(file: tuple[Any, str, SharedCopy | None], skip: int = 0) -> Any:
            # Once a distinct counter estimates, exact sets in the partials are dead weight in
            # every measured batch (most of its bytes without near detection); same result.
            unigrams_exact, bigrams_exact = auditor.distinct_exact()
            measurer = {**spec.measurer, "unigrams_exact": unigrams_exact, "bigrams_exact": bigrams_exact}
            location, shown, shared = file
            return task.remote(location, columns, label, batch_rows, measurer, tokenizer_ref, skip, spec.tokenizer_path, shown, shared)

        # No more files in flight than CPUs: a task ahead of the one the driver reads holds its
        # CPU while backpressure stops it, so with more of them than CPUs the task the driver
        # waits for could wait for a CPU that they hold.
        window = max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending: deque[tuple[int, Any]] = deque()
        submitted = 0
        try:
            while submitted < len(files) or pending:
                while submitted < len(files) and len(pending) < window:
                    pending.append((submitted, submit(files[submitted])))
                    submitted += 1
                index, stream = pending.popleft()
                location = files[index][1]  # as the user named it
                absorbed, failures = 0, 0
                while stream is not None:
                    try:
                        for ref in stream:
                            measured, labels = _get(ray, ref, str(location))
                            first_row = auditor.rows
                            auditor.absorb(measured, labels)
                            absorbed += 1
                            if self._near:
                                # The shuffle's map runs on the cluster, from the batch already
                                # in the object store; the driver sends only the flags.
                                first_member, keep = auditor.batch_members(first_row)
                                maps = mapper.remote(ref, keep, first_member, self._partitions)
                                self._maps.append(maps if self._partitions > 1 else [maps])
                            if progress is not None:
                                progress(auditor.rows)
                        stream = None
                    except _Lost as lost:
                        failures += 1
                        if failures > _RETRIES:
                            raise EngineError(
                                f"Ray lost the task reading {location} {failures} times ({lost}); nothing was written"
                            ) from None
                        # The files behind it start again later: their tasks would hold the CPUs
                        # the retry needs (see `window`).
                        while pending:
                            ray.cancel(pending.pop()[1], force=True)
                        submitted = index + 1
                        stream = submit(files[index], absorbed)
        finally:
            for _, stream in pending:
                ray.cancel(stream, force=True)

    def finish_near(self, auditor: Auditor) -> None:
        """Cluster with the shared band buckets sorted on the cluster: one reduce task per
        partition sorts its (band, key, member) entries and returns the buckets two or more
        representatives share; the core clusters with them and the sketches it holds.

        What stays on the driver: the sketches (spilled past the memory budget) and the
        clustering, which reads two sketches per verified pair. When the buckets or the
        sketches outgrow one machine, the next step is verifying on the cluster too: reduce
        tasks that also receive the members' sketches emit the verified candidate pairs, and the
        driver only merges representatives in row order (benchmarks/RESULTS.md, 1B documents)."""
        if not self._near:
            auditor.finish_near()
            return
        from .ray_tasks import bucket_reduce

        ray = self._ray
        reducer = ray.remote(bucket_reduce)
        try:
            refs = [reducer.remote(*[maps[p] for maps in self._maps]) for p in range(self._partitions)]
            buckets = [_get(ray, ref, "the band-key shuffle") for ref in refs]
        except _Lost as lost:
            raise EngineError(f"Ray lost a task of the band-key shuffle ({lost}); nothing was written") from None
        finally:
            self._maps = []
        auditor.finish_near_with_buckets(buckets)


class _Lost(Exception):
    """A task's worker or node died (or its output was lost): the file can be read again."""


def _get(ray: Any, ref: Any, name: str) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, EpochplanError):
            raise cause from None  # a bad file reads as it does on the local engine
        missing = _import_failure(str(cause or e))
        if missing is not None:
            raise EngineError(
                f"epochplan cannot be imported on the Ray workers (install epochplan[ray] on every node, same version as here): {missing}"
            ) from None
        raise EngineError(f"Ray task reading {name} failed: {first_line(cause or e)}") from None
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as e:
        raise _Lost(type(e).__name__) from None
    except ray.exceptions.RayError as e:
        raise EngineError(f"Ray failed while reading {name} ({type(e).__name__}: {first_line(e)}); nothing was written") from None


#: How Ray words a task whose function could not be unpickled on the worker; the worker's
#: traceback follows, its last line the real error (`No module named 'epochplan'`).
_IMPORT_FAILED = "failed to import on the worker"


def _import_failure(message: str) -> str | None:
    """The error that kept a worker from importing the task's function, or None: not that.
    Ray's message is a paragraph ending in a colon with the traceback after it; its first line
    alone named no cause."""
    if _IMPORT_FAILED not in message:
        return None
    lines = [line.strip() for line in message.split(_IMPORT_FAILED, 1)[1].splitlines() if line.strip()]
    return lines[-1] if len(lines) > 1 else "the worker gave no reason"


def _files(source: Source) -> list[tuple[Any, str, SharedCopy | None]]:
    """The input's files, one task each: where a worker reads it (an absolute local path, or
    the URL), its name as the user gave it (what errors say) and, for an http(s) file this
    process downloaded to open it, that copy: a worker on this machine reads it rather than
    download the file again (`downloads.SharedCopy`).

    Absolute, as a worker's working directory is not this one, but not resolved: a link is read
    under its own name, as the local engine reads it. The reader is chosen by the name's suffix,
    and a link's target may have another (`dups.jsonl` -> `store.txt`, read as text lines) or
    none (the Hugging Face hub cache: `train-00000-of-00002.parquet` -> `blobs/<sha>`)."""
    if not source.paths or len(source.paths) != len(source.parts):
        raise InputError(
            f"engine='ray' reads files or URLs; {source.description} is in this process's memory: use engine='local' or write it to files"
        )
    # An empty file among others adds no rows: no task (a worker would refuse it alone).
    return [
        (p, p, shared_copy(p)) if is_remote(p) else (Path(p).absolute(), p, None)
        for p, part in zip(source.paths, source.parts)
        if not part.is_empty_file
    ]
