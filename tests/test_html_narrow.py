"""The HTML report in a narrow window (a phone, 375–500px wide), in headless chromium as in
test_html_browser.py: nothing runs past the right edge. The nav links did not wrap, the length
charts kept a 420px column, a long path in the <h1> and a split name in an <h3>'s <code> did not
break."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from epochplan.defaults import AUDIT_SCHEMA
from epochplan.render.html import render_html
from test_html_browser import Browser, _chromium


def _audit() -> dict:
    long_path = "/data/" + "a_very_long_folder_name_without_any_break" * 3 + "/train.parquet"
    bins = [[0, 1, 3], [1, 2, 5], [2, 4, 40], [4, 8, 90], [8, 16, 30], [16, 32, 4]]
    lengths = {"mean": 5.0, "p50": 5, "p90": 9, "p99": 20, "max": 31, "histogram": bins}
    split = {"rows": 10, "null_rows": 0, "exact_in_train": 1, "near_in_train": 2, "examples": []}
    return {
        "schema": AUDIT_SCHEMA,
        "rows": 172,
        "source": {"paths": [long_path], "text_columns": ["text"], "label_column": None, "normalize": "default"},
        "lengths": {"chars": lengths, "words": lengths},
        "leakage": {"split_" + "x" * 60: split},
    }


@pytest.mark.parametrize("width", [375, 500])
def test_the_page_fits_a_narrow_window(tmp_path, width):
    page = tmp_path / "narrow.html"
    proc = run_cli("plan", "--samples", "11840", "--seq-len", "128", "--batch", "16", "-o", str(tmp_path / "plan.json"))
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    page.write_text(render_html(_audit(), plan), encoding="utf-8")
    browser = Browser(_chromium(), tmp_path / "profile")
    try:
        browser.page("Page.enable")
        browser.page("Emulation.setDeviceMetricsOverride", width=width, height=800, deviceScaleFactor=1, mobile=False)
        browser.page("Page.navigate", url=page.as_uri())
        browser.wait_for("Page.loadEventFired")
        found = browser.page(
            "Runtime.evaluate",
            expression=(
                "({scroll: document.documentElement.scrollWidth, wide: [...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.tagName + '.' + e.className)})"
            ),
            returnByValue=True,
        )["result"]["value"]
    finally:
        browser.close()
    assert found["wide"] == [] and found["scroll"] <= width, found
