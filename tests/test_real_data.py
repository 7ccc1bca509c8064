"""Counts on the real datasets in ../shared/data, checked against the facts its README states
(counted independently of epochplan)."""

from __future__ import annotations

import pytest

import epochplan

TOOLFORMER_EXCESS_NORMALISED = {
    "dedupe-only": 20,
    "similarity-0.9": 9,
    "similarity-0.8": 5,
    "similarity-0.7": 1,
    "similarity-0.6": 1,
}
TOOLFORMER_ROWS = {"dedupe-only": 7673, "similarity-0.9": 5959, "similarity-0.8": 4709, "similarity-0.7": 3487, "similarity-0.6": 2396}


@pytest.mark.parametrize("tier", sorted(TOOLFORMER_EXCESS_NORMALISED))
def test_gpteacher_toolformer_prompt_excess(shared_data, tier):
    path = shared_data / f"gpteacher_toolformer_{tier}.parquet"
    raw = epochplan.audit(path, text="prompt", normalize="none")
    normalised = epochplan.audit(path, text="prompt")
    assert raw.rows == normalised.rows == TOOLFORMER_ROWS[tier]
    assert raw.exact.duplicate_rows == 0
    assert normalised.exact.duplicate_rows == TOOLFORMER_EXCESS_NORMALISED[tier]


def test_dedupe_only_duplicates_differ_only_by_case(shared_data):
    result = epochplan.audit(shared_data / "gpteacher_toolformer_dedupe-only.parquet", text="prompt")
    assert result.exact.largest_cluster == 2
    assert result.exact.clusters == 20


def test_codegen_prompt(shared_data):
    result = epochplan.audit(shared_data / "gpteacher_codegen-instruct.parquet", text="prompt")
    assert result.rows == 4535
    assert result.exact.duplicate_rows == 0
    assert round(result.lengths.words.mean, 1) == 24.2


def test_chatterbot_exact_repeats(shared_data):
    result = epochplan.audit(shared_data / "chatterbot_english.parquet", normalize="none")
    assert result.source.text_columns == ["text"]
    assert result.rows == 4419
    assert result.exact.duplicate_rows == 2517
    assert result.exact.largest_cluster == 121
    assert result.exact.top[0].count == 121
