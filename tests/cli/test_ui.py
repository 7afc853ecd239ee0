"""Issue 14 item 7: `dtks ui` — Airflow's UI with the auditor page on the embedded default, reached through the login.

The real command is started as a subprocess (api-server, scheduler, dag-processor on a fresh
SQLite metadata DB), headless Debian chromium is driven over the DevTools protocol: it opens
the auditor page without a login, lands on Airflow's login page, logs in as the generated
viewer and is sent back to the auditor page. Ctrl-C (SIGINT) then stops every process.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from dtks.ui import free_port
from tests.cli.conftest import DTKS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(line.rstrip("\n"))
            if marker in line:
                return lines
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.5)
    raise AssertionError(f"no {marker!r} from dtks ui (exit {proc.poll()}):\n" + "\n".join(lines))


def _processes_with(home: Path) -> list[int]:
    """Processes whose environment names this test's AIRFLOW_HOME (the UI's components and their children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if f"AIRFLOW_HOME={home}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


class DevTools:
    """The few Chrome DevTools protocol calls a login needs (websockets' synchronous client)."""

    def __init__(self, tmp_path: Path):
        port = free_port()
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'chromium-profile'}",
                f"--remote-debugging-port={port}",
                "about:blank",
            ],
            env={**os.environ, "HOME": str(tmp_path)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                pages = [
                    t
                    for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                    if t["type"] == "page"
                ]
                if pages:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.5)
        from websockets.sync.client import connect

        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        self.ids = itertools.count(1)

    def call(self, method: str, **params) -> dict:
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == n:
                assert "error" not in message, message
                return message.get("result", {})

    def js(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while not (value := self.js(expression)):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}; at {self.js('location.href')}"
            time.sleep(0.5)
        return value

    def close(self) -> None:
        self.ws.close()
        os.killpg(self.proc.pid, signal.SIGKILL)  # the browser this test started, by its group id
        self.proc.wait(timeout=10)


@pytest.fixture
def ui(warehouse_url, tmp_path):
    """`dtks ui` on a free port with a var/ and AIRFLOW_HOME of this test's own."""
    port, home, var = free_port(), tmp_path / "airflow", tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.update(AIRFLOW_HOME=str(home), DTKS_VAR_DIR=str(var), DTKS_WAREHOUSE_URL=warehouse_url)
    proc = subprocess.Popen(
        [str(DTKS), "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = _read_until(proc, "Ctrl-C stops", timeout=300)
        yield {"proc": proc, "port": port, "home": home, "var": var, "lines": lines}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (make test installs it: `make browser`)")
def test_dtks_ui_login_to_auditor_page_and_ctrl_c(ui, tmp_path):
    base = f"http://127.0.0.1:{ui['port']}"
    auditor = f"{base}/dtks-auditor/"
    assert f"Airflow UI:     {base}/" in ui["lines"] and f"auditor page:   {auditor}" in ui["lines"]
    saved = ui["var"] / "ui" / "logins.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    passwords = json.loads(saved.read_text())
    assert set(passwords) == {"viewer", "admin"} and all(len(p) >= 12 for p in passwords.values())
    for user, password in passwords.items():
        assert any(ln.split() == ["login", user, "password", password] for ln in ui["lines"]), ui["lines"]

    # A browser without a login is sent to the login page; an API client still gets 401.
    first = requests.get(auditor, headers={"Accept": "text/html"}, allow_redirects=False, timeout=30)
    assert first.status_code == 303 and first.headers["location"].startswith("/auth/login?next=")
    assert requests.get(auditor, headers={"Accept": "application/json"}, timeout=30).status_code == 401

    browser = DevTools(tmp_path)
    try:
        browser.call("Page.navigate", url=auditor)
        browser.wait_for(
            "location.pathname.startsWith('/auth/login') && document.querySelectorAll('input').length >= 2"
        )
        for index, text in ((0, "viewer"), (1, passwords["viewer"])):  # typed, as a person would
            browser.js(f"document.querySelectorAll('input')[{index}].focus()")
            browser.call("Input.insertText", text=text)
        browser.wait_for("!document.querySelector('button[type=submit]').disabled")
        browser.js("document.querySelector('button[type=submit]').click()")
        title = browser.wait_for(f"location.href === {json.dumps(auditor)} && document.title")
        assert title == "DTKS Pemutakhiran"
        assert "Pemutakhiran" in browser.js("document.body.innerText")
    finally:
        browser.close()

    # Ctrl-C: the command stops its components and exits 0; no process of this UI is left.
    os.killpg(ui["proc"].pid, signal.SIGINT)
    assert ui["proc"].wait(timeout=60) == 0
    assert "stopped" in ui["proc"].stdout.read()
    assert _processes_with(ui["home"]) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(base, timeout=5)
