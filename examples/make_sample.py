"""Regenerate examples/data/sample.parquet: a small instruction dataset with known defects.

Deterministic (fixed seed). Ground truth, by construction:
- 400 rows; 300 distinct base prompts
- 60 rows are byte-identical copies of earlier rows, 40 rows differ from an earlier row only in
  letter case / whitespace (so: exact excess 60 raw, 100 normalised)
- a `label` column with 3 categories (imbalanced), and a `response` column
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

TOPICS = ["python", "rust", "sql", "statistics", "physics", "history", "cooking", "travel", "music", "biology"]
VERBS = ["Explain", "Summarise", "Compare", "Describe", "List the main ideas of", "Give an example of", "Teach me"]
OBJECTS = [
    "recursion",
    "hash tables",
    "joins",
    "variance",
    "entropy",
    "the french revolution",
    "bread dough",
    "night trains",
    "counterpoint",
    "photosynthesis",
    "garbage collection",
    "borrowing",
    "window functions",
    "bayes rule",
    "momentum",
    "the silk road",
    "fermentation",
    "jet lag",
    "harmony",
    "cell division",
]
AUDIENCES = ["a beginner", "a child", "an expert", "a busy manager", "a student", "my grandmother"]


def main() -> None:
    rng = random.Random(20261121)
    base: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(base) < 300:
        topic = rng.choice(TOPICS)
        prompt = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} in {topic} to {rng.choice(AUDIENCES)}."
        if prompt.lower() in seen:
            continue
        seen.add(prompt.lower())
        label = "howto" if rng.random() < 0.6 else ("concept" if rng.random() < 0.75 else "chitchat")
        base.append((prompt, label))
    rows = list(base)
    for _ in range(60):
        rows.append(rng.choice(base))
    for prompt, label in rng.sample(base, 40):  # distinct bases: variants never equal each other
        rows.append((prompt.upper() if rng.random() < 0.5 else "  " + prompt.replace(" ", "   "), label))
    rng.shuffle(rows)
    frame = pl.DataFrame(
        {
            "prompt": [p for p, _ in rows],
            "response": [f"Here is an answer about {p.split(' in ')[0].lower()}." for p, _ in rows],
            "label": [label for _, label in rows],
        }
    )
    out = Path(__file__).parent / "data" / "sample.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out)
    print(f"wrote {out} ({frame.height} rows)")


if __name__ == "__main__":
    main()
