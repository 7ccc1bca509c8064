"""The `near-sketch` warning: rows that share one long template and differ in a tail of their
own sit just under the threshold, every pair of them. Under `--verify sketch` each row is checked
against dozens of such rows and some estimates pass the threshold by chance: distinct rows were
merged and eval rows reported as near leaks, while the only warning (`near-capped`) said near
duplicates "may be missed" — the opposite. The ground truth (every pair's exact word-5-gram
Jaccard under 0.7) is computed here."""

from __future__ import annotations

import json
import random
import re

import polars as pl

from conftest import audit_json, run_cli


def _words(shared_data) -> list[str]:
    """Lower-case ASCII words of a real chat corpus (normalisation leaves them as they are)."""
    texts = pl.read_parquet(shared_data / "chatterbot_english.parquet")["text"].to_list()
    return [w for w in (re.sub("[^a-z]", "", w.lower()) for t in texts for w in t.split()) if w]


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def _templated(shared_data, tmp_path, train: int = 400, held_out: int = 100):
    """`train` and `held_out` rows: one 230-word template, then 70 words of each row's own."""
    rng = random.Random(5)
    vocabulary = _words(shared_data)
    template = " ".join(rng.choice(vocabulary) for _ in range(230))
    rows = [f"{template} {' '.join(rng.choice(vocabulary) for _ in range(70))}" for _ in range(train + held_out)]
    shingles = [_shingles(r) for r in rows]
    best = max(len(a & b) / len(a | b) for i, a in enumerate(shingles) for b in shingles[i + 1 :])
    assert 0.55 < best < 0.7, best  # every pair below the threshold: no near duplicate, no near leak
    train_path, eval_path = tmp_path / "train.parquet", tmp_path / "val.parquet"
    pl.DataFrame({"text": rows[:train]}).write_parquet(train_path)
    pl.DataFrame({"text": rows[train:]}).write_parquet(eval_path)
    return train_path, eval_path


def test_sketch_merges_on_templated_rows_are_named_and_exact_verify_is_advised(shared_data, tmp_path):
    train, held_out = _templated(shared_data, tmp_path)
    audit = audit_json(str(train), "--eval", f"val={held_out}", "-q")
    near, leaks = audit["near"], audit["leakage"]["val"]
    assert near["verify"] == "sketch" and near["duplicate_rows"] > 0 and leaks["near_in_train"] > 0  # estimates past 0.7
    # Too few rows merged for the template warning; the near-sketch warning says what happened.
    assert "template" not in [w["id"] for w in audit["warnings"]]
    (warning,) = [w for w in audit["warnings"] if w["id"] == "near-sketch"]
    message = " ".join(warning["message"].split())
    assert "100 % of rows start with the same text" in message
    assert f"{near['duplicate_rows']} rows joined a near cluster" in message
    assert f"{leaks['near_in_train']} eval rows matched as near leaks" in message
    assert "may be below the threshold" in message and "false leaks" in message and "--verify exact" in message
    assert warning["share"] == near["duplicate_rows"] / audit["rows"]
    assert warning["text"] and pl.read_parquet(train)["text"][0].startswith(warning["text"])  # the shared opening
    # The terminal shows it, and `check` notes it beside the gate.
    shown = run_cli("audit", str(train), "-q")
    assert "warning: near duplicates were verified by sketch estimates" in " ".join((shown.stdout + shown.stderr).split())
    gate = run_cli("check", str(train), "--exit-zero")
    assert "note near-sketch:" in " ".join(gate.stdout.split()), gate.stdout
    # --verify exact measures every pair: nothing merged, nothing leaked, nothing to warn about.
    exact = audit_json(str(train), "--eval", f"val={held_out}", "--verify", "exact", "-q")
    assert exact["near"]["unique"] == 400 and exact["leakage"]["val"]["near_in_train"] == 0
    assert "near-sketch" not in [w["id"] for w in exact["warnings"]]
    # Without an eval split the warning names the merges alone.
    (alone,) = [w for w in audit_json(str(train), "-q")["warnings"] if w["id"] == "near-sketch"]
    assert "near leaks" not in alone["message"] and "false leaks" not in alone["message"]


def test_no_near_sketch_warning_on_data_without_a_template(shared_data, tmp_path):
    """Real instruction data, its near duplicates far above the threshold or none: no warning."""
    for name in ("gpteacher_codegen-instruct.parquet", "gpteacher_roleplay-simple-deduped.parquet"):
        audit = audit_json(str(shared_data / name), "-q")
        assert audit["near"]["verify"] == "sketch"
        assert "near-sketch" not in [w["id"] for w in audit["warnings"]], (name, audit["warnings"])
    run = run_cli("audit", str(shared_data / "gpteacher_codegen-instruct.parquet"), "-q")
    assert "sketch estimates" not in run.stdout + run.stderr
    audit = json.loads(run_cli("audit", str(shared_data / "chatterbot_english.parquet"), "--json", "-", "-q").stdout)
    assert "near-sketch" not in [w["id"] for w in audit["warnings"]]


def test_the_margin_is_the_sketchs_own_error():
    """2.5 standard errors of the estimate at the threshold: 0.10 at 0.7 with 128 slots, narrower
    with more (a fixed 0.1 counted matches a 512-slot sketch had measured well past the threshold)."""
    from epochplan.auditing.near_warnings import sketch_margin

    assert round(sketch_margin(0.7, 128), 3) == 0.101
    assert round(sketch_margin(0.7, 512), 3) == 0.051
    assert sketch_margin(0.9, 128) < sketch_margin(0.7, 128)
