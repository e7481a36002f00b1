"""Shared helpers of the browser tests: Debian's Chromium under Playwright, local servers on free
ports, the outside network blocked, and screenshots for the docs.

The browser is the system's Chromium (``.ci/run`` installs Debian's when missing), never one
Playwright downloads. Without it the browser tests skip with the reason, unless
``PACKETFLOW_REQUIRE_BROWSER=1`` (CI), where a missing browser is a failure.
``PACKETFLOW_REFRESH_SCREENSHOTS=1`` makes the tests save ``docs/panel.png`` and ``docs/viz.png``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from paths import REPO_ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
DOCS_DIR = REPO_ROOT / "docs"


def chromium_path() -> str:
    """The system Chromium; skips the test without one (fails under PACKETFLOW_REQUIRE_BROWSER)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    for candidate in (found, "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    reason = "no Chromium on PATH (Debian: apt-get install chromium; .ci/run does it)"
    if os.environ.get("PACKETFLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PACKETFLOW_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def browser_page(viewport: tuple[int, int] = (1400, 1000)) -> Iterator:
    """A fresh Playwright page in the system Chromium, with every request to a host other than
    this machine aborted (``page.blocked`` lists their URLs): what a page needs from outside
    shows as a failure, so a test proves the page works offline."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=1
            )
            blocked: list[str] = []

            def route(r) -> None:
                host = urlsplit(r.request.url).hostname or ""
                if r.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.blocked = blocked
            yield page
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(
    port: int, proc: subprocess.Popen, timeout: float = 60.0, log: Path | None = None
) -> None:
    """Until a server listens on ``port``; fails at once if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:] if log else ""
            pytest.fail(f"the server exited with {proc.returncode} before listening: {tail}")
        if port_is_open(port):
            return
        time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} within {timeout:.0f} s")


def wait_for_port_closed(port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_is_open(port):
            return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def server(command: list[str], port: int, *, env: dict | None = None, cwd=None, log: Path):
    """Run a server in its own session (so cleanup stops it and anything it started) until
    it listens on ``port``; yields the process. Its output goes to ``log``."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(port, proc, log=log)
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def save_screenshot(locator, name: str) -> Path | None:
    """Save ``locator``'s screenshot as ``docs/<name>.png`` when PACKETFLOW_REFRESH_SCREENSHOTS=1."""
    if os.environ.get("PACKETFLOW_REFRESH_SCREENSHOTS") != "1":
        return None
    path = DOCS_DIR / f"{name}.png"
    locator.screenshot(path=str(path))
    return path
