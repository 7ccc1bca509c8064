"""The audit's slow-down with `--tokenizer`: the same documents audited with the bytes/4
estimate and with GPT-2's tokenizer, exact-only and with near duplicates, each configuration in
its own process (wall time and peak RSS). Prints a Markdown table; asserts nothing about time.

Documents: as bench_tokens.py (synthetic Zipf-like ones from corpus.py and real multilingual
dialogue and code built from ../shared/data), written once to a Parquet file.

    python benchmarks/bench_audit_tokens.py --synthetic 50000 --real 50000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from bench_tokens import real_documents  # noqa: E402
from corpus import generate  # noqa: E402
from tokenizer_fixture import write_gpt2_tokenizer_json  # noqa: E402

# One audit in a fresh process: its wall time (data read included) and peak RSS.
CHILD = """
import json, resource, sys, time
import epochplan
path, tokenizer, near = sys.argv[1], sys.argv[2] or None, sys.argv[3] == "1"
start = time.perf_counter()
result = epochplan.audit(path, tokenizer=tokenizer, near=near, keep_clusters=False)
seconds = time.perf_counter() - start
tokens = result.lengths.tokens
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "total": tokens.total, "unique_tokens": (result.near or result.exact).unique_tokens}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=50_000)
    parser.add_argument("--real", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="runs per configuration; the fastest is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        documents = generate(args.synthetic, 150, seed=args.seed)["text"].to_list() + real_documents(args.real, args.seed)
        data = Path(tmp) / "docs.parquet"
        pl.DataFrame({"text": documents}).write_parquet(data)
        tokenizer = write_gpt2_tokenizer_json(Path(tmp) / "tokenizer.json")
        size = data.stat().st_size
        print(
            f"{len(documents):,} documents, {sum(len(d.encode()) for d in documents) / 1e6:.1f} MB of text, Parquet {size / 1e6:.1f} MB\n"
        )
        print("| audit | tokens | seconds | slow-down | peak RSS | token total |")
        print("|---|---|---|---|---|---|")
        for near in (False, True):
            base = None
            for label, tok in (("bytes/4 estimate", ""), ("GPT-2 tokenizer", str(tokenizer))):
                runs = []
                for _ in range(args.repeat):
                    out = subprocess.run(
                        [sys.executable, "-c", CHILD, str(data), tok, "1" if near else "0"], capture_output=True, text=True, check=True
                    )
                    runs.append(json.loads(out.stdout))
                best = min(runs, key=lambda r: r["seconds"])
                base = best["seconds"] if base is None else base
                print(
                    f"| {'near + exact' if near else 'exact only'} | {label} | {best['seconds']:.2f} | "
                    f"{best['seconds'] / base:.2f}× | {best['rss'] / 2**20:,.0f} MiB | {best['total']:,} |"
                )


if __name__ == "__main__":
    main()
