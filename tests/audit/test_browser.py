"""The real plugin app served by uvicorn, opened in headless Debian chromium: tables, masking, a screenshot."""

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from dtks import audit, masking
from tests import browser
from tests.audit import scenario3
from tests.builders import SURABAYA

pytestmark = pytest.mark.postgres

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(three_rounds, plugin):
    """The plugin's app under its Airflow prefix, on a free localhost port, in a uvicorn thread."""
    import uvicorn
    from fastapi import FastAPI

    root = FastAPI()
    root.mount(
        plugin.URL_PREFIX, plugin.create_app(engine=audit.auditor_engine(three_rounds["url"]), require_login=False)
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}{plugin.URL_PREFIX}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/static/auditor.css", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (make test installs it: `make browser`)")
def test_auditor_page_in_headless_chromium(served, tmp_path):
    url = f"{served}/rounds/2026-09"
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "<title>DTKS Pemutakhiran – 2026-09</title>" in html
    # the district table and the submissions, as the browser built the DOM
    assert f"<td>{SURABAYA}</td><td>Kota Surabaya</td>" in html
    assert 'id="district-chart"' in html and "dtks_3578_2026-09.csv" in html and "file_empty" in html
    for nik in scenario3.NIKS + scenario3.KKS:
        assert nik not in html

    lineage = _chromium(tmp_path, "--dump-dom", f"{served}/submissions/2")
    assert masking.mask_nik(scenario3.scenario.a4.nik) in lineage.stdout
    assert scenario3.scenario.a4.nik not in lineage.stdout

    shot = tmp_path / "auditor_round_2026-09.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", "--hide-scrollbars", url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("DTKS_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["DTKS_KEEP_SCREENSHOT"])


def _saved(served: str, path: str, tmp_path, data: bytes | None = None) -> Path:
    """A page of the running app saved as a file (its links resolve against the server through <base>)."""
    with urllib.request.urlopen(f"{served}{path}", data=data, timeout=30) as resp:
        text = resp.read().decode("utf-8")
    page = tmp_path / (re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") + ".html")
    page.write_text(text, encoding="utf-8")
    return page


@browser.needs_chromium
def test_auditor_pages_fit_1280_px_and_a4_landscape(served, tmp_path, plugin):
    """Rounds, a submission (lifecycle timeline) and a lineage answer: no sideways overflow, no inner scroll
    box, on screen at 1280 px and in the print layout; masked NIKs on one line."""
    css = {
        f"{plugin.URL_PREFIX}/static/auditor.css": (Path(plugin.__file__).parent / "static" / "auditor.css").read_text(
            encoding="utf-8"
        )
    }
    lineage_form = urllib.parse.urlencode({"identifier": scenario3.scenario.a4.nik}).encode()
    pages = {
        "rounds": _saved(served, "/", tmp_path),
        "submission": _saved(served, "/submissions/2", tmp_path),
        "lineage": _saved(served, "/lineage", tmp_path, data=lineage_form),
    }
    assert masking.mask_nik(scenario3.scenario.a4.nik) in pages["lineage"].read_text(encoding="utf-8")
    base = served.split(plugin.URL_PREFIX)[0] + "/"
    for name, page in pages.items():
        for print_layout in (False, True):
            figures = browser.measure(tmp_path, page, 1280, print_layout=print_layout, inline_css=css, base=base)
            browser.assert_fits(figures)
            assert figures["idLines"] <= 1, (name, figures)
    lineage = browser.measure(tmp_path, pages["lineage"], 1280, inline_css=css, base=base)
    assert lineage["idLines"] == 1  # there are masked NIKs, each on one line
    pdf = browser.print_pdf(tmp_path, pages["submission"].as_uri(), tmp_path / "submission.pdf")
    assert browser.pdf_pages(pdf)


def test_lifecycle_is_a_wib_timeline_with_the_json_behind_a_disclosure(served, tmp_path):
    html = _saved(served, "/submissions/2", tmp_path).read_text(encoding="utf-8")
    timeline = re.search(r'<ol class="timeline" id="events">(.*?)</ol>\n</section>', html, re.S).group(1)
    steps = re.findall(r'<li data-event="([a-z]+)"><div class="when nw">([^<]+)</div>', timeline)
    assert [e for e, _ in steps][:2] == ["received", "archived"] and len(steps) >= 3
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} WIB", when) for _, when in steps)
    assert "diterima sistem / received" in timeline and "diarsipkan / archived" in timeline
    assert timeline.count("<details><summary>JSON</summary><pre>") >= 2 and "sha256" in timeline
    assert "(UTC)" not in html
