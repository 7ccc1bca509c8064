"""The Ray engine's overhead on one machine: local engine vs Ray with 1 and 2 worker nodes.

Usage: python benchmarks/bench_ray.py [--rows 1000000] [--words 60] [--shards 8] [--work DIR]
       [--baseline /path/to/other/checkout/python]

Writes a deterministic corpus (benchmarks/corpus.py: 10 % exact copies, 2 % case/whitespace
variants, 5 % near copies) as `--shards` Parquet files, then audits it end to end through the CLI
(`epochplan audit DIR --json OUT -q`, near duplicates on) with:
- the local engine;
- Ray, a head node with no CPUs (GCS and the driver only) plus 1, then 2, worker nodes of one
  CPU each (`ray start` on loopback), `--engine ray --ray-address`.
Each Ray run's JSON is checked equal to the local one. Prints a Markdown table (wall time, rows/s,
ratio to local, the driver's peak RSS) to paste into RESULTS.md.

`--baseline PATH` also times the local engine of another checkout (its `python/` folder, with its
built extension) on the same corpus, alternating runs: the stages split must not slow the local
engine down.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure  # noqa: E402  (first: starts the launcher while we are small)

REPO = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).parent / "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_shards(folder: Path, rows: int, words: int, shards: int) -> None:
    from corpus import generate

    if folder.is_dir() and len(list(folder.glob("*.parquet"))) == shards:
        return
    folder.mkdir(parents=True, exist_ok=True)
    frame = generate(rows, words, near_fraction=0.05, near_edit_rate=(0.02, 0.08), seed=7)
    per = -(-rows // shards)
    for k in range(shards):
        frame.slice(k * per, per).write_parquet(folder / f"part-{k:03d}.parquet", row_group_size=50_000)
    print(f"wrote {shards} shards, {rows:,} rows, {frame['text'].str.len_bytes().mean():,.0f} bytes/row", flush=True)


def audit(data: Path, out: Path, pythonpath: str, extra: list[str]) -> tuple[float, float, dict]:
    argv = [sys.executable, "-m", "epochplan", "audit", str(data), "--json", str(out), "-q", *extra]
    m = measure(argv, env={"PYTHONPATH": pythonpath, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"})
    return m.seconds, m.peak_rss_mb, json.loads(out.read_text())


class Cluster:
    """Head node without CPUs plus `workers` one-CPU worker nodes on loopback."""

    def __init__(self, workers: int, pythonpath: str) -> None:
        self.port = _free_port()
        self.temp = tempfile.mkdtemp(prefix="rayb", dir="/tmp")
        self.env = {**os.environ, "PYTHONPATH": pythonpath, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        node = ["--object-store-memory", str(1 << 30), "--disable-usage-stats"]
        head = [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port), "--num-cpus", "0"]
        subprocess.run(
            [*head, *node, "--include-dashboard", "false", "--temp-dir", self.temp], env=self.env, check=True, capture_output=True
        )
        for _ in range(workers):
            worker = [RAY, "start", "--address", self.address, "--node-ip-address", "127.0.0.1", "--num-cpus", "1", *node]
            subprocess.run(worker, env=self.env, check=True, capture_output=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        subprocess.run([RAY, "stop", "--force"], env=self.env, capture_output=True)
        shutil.rmtree(self.temp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--work", type=Path, default=Path("/tmp/epochplan-bench-ray"))
    parser.add_argument("--baseline", help="python/ folder of another checkout: its local engine is timed too")
    args = parser.parse_args()
    mine = str(REPO / "python")
    data = args.work / f"shards-{args.rows}-{args.words}"
    write_shards(data, args.rows, args.words, args.shards)
    out = args.work / "out.json"

    results = []
    seconds, rss, local = audit(data, out, mine, ["--engine", "local"])
    results.append(("local engine", seconds, rss))
    print(f"local: {seconds:.1f} s", flush=True)
    for workers in (1, 2):
        cluster = Cluster(workers, mine)
        try:
            seconds, rss, got = audit(data, out, mine, ["--engine", "ray", "--ray-address", cluster.address])
        finally:
            cluster.stop()
        assert got == local, f"Ray with {workers} worker node(s) differs from the local engine"
        results.append((f"Ray, {workers} worker node{'s' if workers > 1 else ''} × 1 CPU", seconds, rss))
        print(f"ray {workers}: {seconds:.1f} s (same JSON)", flush=True)

    base = results[0][1]
    print(f"\n{args.rows:,} documents ({args.shards} Parquet shards, ~{args.words} words each), near duplicates on:\n")
    print("| engine | wall s | rows/s | vs local | driver peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, rss in results:
        print(f"| {name} | {seconds:.1f} | {args.rows / seconds:,.0f} | {seconds / base:.2f}× | {rss:,.0f} |")

    if args.baseline:
        print("\nLocal engine, this checkout vs --baseline (alternating, 2 runs each, near on and --no-near):\n")
        print("| checkout | near | run 1 s | run 2 s | peak RSS MB |")
        print("|---|---|---:|---:|---:|")
        for flags in ([], ["--no-near"]):
            timings: dict[str, list[tuple[float, float]]] = {"baseline": [], "this": []}
            for _ in range(2):
                for name, path in (("baseline", args.baseline), ("this", mine)):
                    seconds, rss, got = audit(data, out, path, flags)
                    timings[name].append((seconds, rss))
            for name, runs in timings.items():
                print(f"| {name} | {'off' if flags else 'on'} | {runs[0][0]:.1f} | {runs[1][0]:.1f} | {max(r for _, r in runs):,.0f} |")


if __name__ == "__main__":
    main()
