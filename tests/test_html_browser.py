"""The HTML report in a real browser: Debian's `chromium`, headless, driven over the DevTools
protocol on a pipe (`--remote-debugging-pipe`: no port, no network, no driver package).

The page must load without a console message of level error or warning, without any exception, and
without any network request (the report's Content-Security-Policy would log one it blocked); its
screenshot must be a non-blank PNG of the window's size, in light and in dark mode; it must print.
Under CI (`CI=true`) a missing chromium fails the test: the README's test command installs it
(`apt-get install -y chromium`). Elsewhere it is skipped.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import run_cli
from test_html_report import real  # noqa: F401, F811  (the fixture: a real audit, plan and check)

WIDTH, HEIGHT = 1200, 900
DEADLINE_S = 120  # a hung browser fails the test instead of hanging CI; never a timing assertion


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("chromium is not installed; CI must install it: apt-get update && apt-get install -y chromium")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")


class Browser:
    """Just enough of the DevTools protocol: commands to one page, events collected as they come."""

    def __init__(self, executable: str, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def pipes_on_3_and_4() -> None:  # chromium reads commands on fd 3, writes replies on fd 4
            # Move both ends above 4 first, so that neither is overwritten by the other's dup2.
            commands, replies = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--mute-audio",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=pipes_on_3_and_4,
            pass_fds=(3, 4),  # close_fds runs after preexec_fn: keep 3 and 4 (open here: os.pipe takes the lowest free fds)
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _read_message(self) -> dict:
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], DEADLINE_S)
            chunk = os.read(self._from_browser, 1 << 20) if ready else b""
            if not chunk:
                raise RuntimeError(
                    "chromium stopped answering: " + self.process.stderr.read1(4000).decode(errors="replace")
                    if self.process.poll() is not None
                    else "chromium did not answer in time"
                )
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: bool = False, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, **params) -> dict:
        return self.send(method, session=True, **params)

    def wait_for(self, event: str) -> dict:
        for seen in self.events:
            if seen.get("method") == event:
                self.events.remove(seen)
                return seen
        while True:
            message = self._read_message()
            if message.get("method") == event:
                return message
            self.events.append(message)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def open_page(browser: Browser, path: Path, *, dark: bool = False) -> None:
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.page(f"{domain}.enable")
    browser.page("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
    browser.page("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
    browser.page("Page.navigate", url=path.as_uri())
    browser.wait_for("Page.loadEventFired")


def screenshot(browser: Browser, full_page: bool = False) -> bytes:
    params: dict = {"format": "png"}
    if full_page:
        height = browser.page("Runtime.evaluate", expression="document.documentElement.scrollHeight", returnByValue=True)
        params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": height["result"]["value"], "scale": 1})
    return base64.b64decode(browser.page("Page.captureScreenshot", **params)["data"])


def problems(browser: Browser) -> list[str]:
    """Console errors and warnings, exceptions, and any request for something not in the file."""
    found = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
            found.append(f"console {params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            found.append(f"exception: {params.get('exceptionDetails')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            found.append(f"log {params['entry']['level']}: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith(("file:", "data:", "about:")):
            found.append(f"request: {params['request']['url']}")
    return found


def decode_png(data: bytes) -> np.ndarray:
    """8-bit RGB/RGBA PNG -> (height, width, channels) array; enough for a browser screenshot."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, 1 + width * bpp)
    out = np.zeros((height, width * bpp), dtype=np.int32)
    previous = np.zeros(width * bpp, dtype=np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 1:
            row = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) % 256
        elif kind == 2:
            row = (line + previous) % 256
        else:
            row = np.zeros_like(line)
            for x in range(width * bpp):
                left = row[x - bpp] if x >= bpp else 0
                up = previous[x]
                if kind == 3:
                    row[x] = (line[x] + (left + up) // 2) % 256
                else:
                    upper_left = previous[x - bpp] if x >= bpp else 0
                    p = left + up - upper_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                    predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                    row[x] = (line[x] + predictor) % 256
        out[y], previous = row, row
    return out.reshape(height, width, bpp)[:, :, :3].astype(np.uint8)


@pytest.fixture(scope="module")
def report_file(real, tmp_path_factory) -> Path:  # noqa: F811
    """chatterbot_english audited by the CLI (with its example texts), made into a page by `epochplan report`."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    folder = real["dir"]
    proc = run_cli(
        "report", str(folder / "a.json"), "--plan", str(folder / "p.json"), "--check", str(folder / "check.json"), "-o", str(path)
    )
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    started = Browser(_chromium(), tmp_path_factory.mktemp("profile"))
    yield started
    started.close()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_report_renders_without_errors_and_screenshots(browser, report_file, dark):
    browser.events.clear()
    open_page(browser, report_file, dark=dark)
    layout = browser.page(
        "Runtime.evaluate",
        returnByValue=True,
        expression=(
            "JSON.stringify({sections: [...document.querySelectorAll('main > section')].map(s => [s.id, s.getBoundingClientRect().height]),"
            " charts: [...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width),"
            " background: getComputedStyle(document.body).backgroundColor, scripts: document.scripts.length})"
        ),
    )
    page = json.loads(layout["result"]["value"])
    assert [name for name, _ in page["sections"]] == ["summary", "duplicates", "lengths", "labels", "leakage", "plan", "checks"]
    assert all(height > 50 for _, height in page["sections"]), page["sections"]
    assert len(page["charts"]) >= 5 and all(width > 300 for width in page["charts"])
    assert page["scripts"] == 0
    image = decode_png(screenshot(browser))
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20, "screenshot is (nearly) one colour"
    background = image[5, WIDTH - 5].astype(int)  # the page's own background, right margin
    assert (background.mean() < 60) == dark, f"background {background} in {'dark' if dark else 'light'} mode"
    assert problems(browser) == []


def test_report_prints(browser, report_file):
    browser.events.clear()
    open_page(browser, report_file)
    pdf = base64.b64decode(browser.page("Page.printToPDF", printBackground=False)["data"])
    assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 3
    assert problems(browser) == []


def test_the_browser_check_sees_what_it_looks_for(browser, tmp_path):
    """The checks above can fail: a page with a console error and a blocked request is reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
        "<img src=\"http://example.invalid/x.png\"><script>console.error('boom')</script></body></html>"
    )
    browser.events.clear()
    open_page(browser, page)
    found = problems(browser)
    assert any("boom" in p for p in found), found
    assert any("example.invalid" in p for p in found), found


def test_right_to_left_examples_read_right_to_left(browser, shared_data, tmp_path):
    """Persian utterances (chatterbot, real data) in the report's example texts: each line takes its
    direction from its own first letter, so a Persian line starts at the right edge of its box
    and an English one at the left, whatever the page's direction."""
    persian = pl.read_parquet(shared_data / "chatterbot_multilingual.parquet").filter(pl.col("lang") == "persian")["text"]
    english = pl.read_parquet(shared_data / "chatterbot_english.parquet")["text"]
    # Real utterances repeated so that both languages are among the largest clusters shown.
    firsts = [[t for t in texts.unique(maintain_order=True) if len(t) > 20][:5] for texts in (persian, english)]
    distinct = [text for pair in zip(*firsts) for text in pair]  # Persian, English, Persian, …
    rows = [text for k, text in enumerate(distinct) for _ in range(12 - k)]
    data = tmp_path / "mixed.parquet"
    pl.DataFrame({"text": rows + list(persian[:200]) + list(english[:200])}).write_parquet(data)
    page = tmp_path / "report.html"
    proc = run_cli("audit", str(data), "--html", str(page), "-q")
    assert proc.returncode == 0, proc.stderr
    browser.events.clear()
    open_page(browser, page)
    measured = browser.page(
        "Runtime.evaluate",
        returnByValue=True,
        expression=(
            "JSON.stringify([...document.querySelectorAll('.txt')].filter(d => d.textContent.trim()).map(d => {"
            " const box = d.getBoundingClientRect(), style = getComputedStyle(d);"
            " const r = document.createRange(); r.setStart(d.firstChild, 0); r.setEnd(d.firstChild, 1);"
            " const first = r.getBoundingClientRect();"
            " return {text: d.textContent.slice(0, 20),"
            "  left: first.left - box.left - parseFloat(style.paddingLeft),"
            "  right: box.right - parseFloat(style.paddingRight) - first.right}; }))"
        ),
    )
    boxes = json.loads(measured["result"]["value"])
    rtl = [b for b in boxes if re.match(r"\s*[\u0600-\u06ff]", b["text"])]
    ltr = [b for b in boxes if re.match(r"\s*[A-Za-z]", b["text"])]
    assert rtl and ltr, boxes  # the audit showed examples of both
    assert all(b["right"] < 2 for b in rtl), rtl  # the first character at the right edge
    assert all(b["left"] < 2 for b in ltr), ltr
    assert problems(browser) == []


def test_long_class_names_stay_inside_the_labels_chart(browser, tmp_path):
    """A bar's label is drawn right-aligned left of the axis: 24 characters of wide letters ran
    past the picture's left edge ("label-000000-LLLL…" showed as "abel-000000-…"). Every label's
    box lies inside its SVG, for Latin capitals, digits, CJK names and names of control characters."""
    names = [
        "label-000000-LLLLLLLLLLLLLLLLL",
        "WWWWWWWWWWWWWWWWWWWWWWWWWWWW",
        "这是一个非常长的中文类别名称用于测试",
        "short",
        "MMMMMM mmmmmm 000000 @@@@",
        # Each control or bidi character is drawn as a 4-6 character escape: measured as one, the
        # label ran past the left edge ("\u202e\u202e…" showed as "202e\u202e…").
        "\u202e\u202e\u202e\u202e\u202e\u202e label",
        "\x1b[31m\x1b[0m\x00\x01\x02\x03\x04\x05\x06\x07 bell",
    ]
    rows = [(f"text {i} of class {name}", name) for k, name in enumerate(names) for i in range(20 + k)]
    data = tmp_path / "labels.parquet"
    pl.DataFrame({"text": [t for t, _ in rows], "label": [n for _, n in rows]}).write_parquet(data)
    page = tmp_path / "report.html"
    proc = run_cli("audit", str(data), "--label", "label", "--html", str(page), "-q")
    assert proc.returncode == 0, proc.stderr
    open_page(browser, page)
    measured = browser.page(
        "Runtime.evaluate",
        returnByValue=True,
        expression=(
            "JSON.stringify([...document.querySelectorAll('svg text.tick[text-anchor=end]')].map(t => {"
            " const svg = t.ownerSVGElement.getBoundingClientRect(), box = t.getBoundingClientRect();"
            " return {text: t.textContent, inside: box.left >= svg.left - 0.5}; }))"
        ),
    )
    labels = [b for b in json.loads(measured["result"]["value"]) if not b["text"].replace(",", "").replace(".", "").isdigit()]
    assert len(labels) >= len(names), labels
    assert all(b["inside"] for b in labels), [b for b in labels if not b["inside"]]


def test_long_unbroken_names_stay_inside_the_page(browser, tmp_path):
    """A 204-character split name (in two check ids and their messages) and a 200-character label
    ran the checks and conflicting-labels tables off the page; every table now fits its column,
    and the cells of short words and numbers (a status, a count, a plan field) stay on one line."""
    label, split = "W" * 200, "WWWWWWWWWWWWWWWWW" * 12
    texts = [f"train row {i} words here and there" for i in range(20)]
    train, val = tmp_path / "train.parquet", tmp_path / "val.parquet"
    pl.DataFrame({"text": texts + [texts[0]], "label": ["a"] * 10 + [label] * 11}).write_parquet(train)
    pl.DataFrame({"text": [texts[3], "x y z"]}).write_parquet(val)
    common = [str(train), "--label", "label", "--eval", f"{split}={val}"]
    audit, plan, check, page = (tmp_path / name for name in ("a.json", "p.json", "c.json", "r.html"))
    assert run_cli("audit", *common, "--json", str(audit), "-q").returncode == 0
    assert run_cli("plan", "--audit", str(audit), "--seq-len", "64", "-o", str(plan)).returncode == 0
    assert run_cli("check", *common, "--json", str(check), "--exit-zero", "-q").returncode == 0
    proc = run_cli("report", str(audit), "--plan", str(plan), "--check", str(check), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    browser.events.clear()
    open_page(browser, page)
    measured = browser.page(
        "Runtime.evaluate",
        returnByValue=True,
        expression=(
            "JSON.stringify({right: document.querySelector('main').getBoundingClientRect().right,"
            " tables: [...document.querySelectorAll('main table')].map(t => [t.closest('section').id, t.getBoundingClientRect().right]),"
            " split: [...document.querySelectorAll('main td')].filter(td => td.textContent.trim().length < 16).filter(td => {"
            "  const r = document.createRange(); r.selectNodeContents(td);"
            "  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; }).map(td => td.textContent)})"
        ),
    )
    page_box = json.loads(measured["result"]["value"])
    assert {section for section, _ in page_box["tables"]} >= {"labels", "checks", "plan"}
    assert all(right <= page_box["right"] for _, right in page_box["tables"]), page_box
    assert page_box["split"] == [], page_box["split"]
    assert problems(browser) == []
