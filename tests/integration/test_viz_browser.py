"""``packetflow-arena viz`` in a real browser, offline: the page renders its controls and steps
with every request to the outside aborted; and killing the command frees its port."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from browser import (
    browser_page,
    free_port,
    save_screenshot,
    server,
    wait_for_port,
    wait_for_port_closed,
)
from paths import SCENARIOS_DIR

SCENARIO = SCENARIOS_DIR / "customer_support.yaml"  # real requests, three zones: quick to build
CLI = [sys.executable, "-m", "arena", "viz", str(SCENARIO)]
pytestmark = pytest.mark.slow


def step_count(page) -> int:
    return int(re.search(r"Step:\s*(\d+)", page.inner_text("body")).group(1))


def test_viz_page_renders_its_controls_and_steps_offline(tmp_path):
    port = free_port()
    with (
        server([*CLI, "--port", str(port)], port, log=tmp_path / "viz.log"),
        browser_page() as page,
    ):
        broken: list[str] = []
        page.on("requestfailed", lambda r: broken.append(f"failed {r.url}"))
        page.on("response", lambda r: r.status >= 400 and broken.append(f"{r.status} {r.url}"))
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_text("Step: 0").wait_for(timeout=60_000)
        for label in ("router", "arrival rate ×", "temperature", "repulsion", "max_flight_steps"):
            assert page.get_by_text(label, exact=True).first.is_visible(), label
        figures = page.locator("img[src^='data:image/png'], img[src^='blob:']")
        figures.nth(1).wait_for(timeout=30_000)
        assert figures.count() == 2  # the arena snapshot and the zone load
        before = figures.first.get_attribute("src")
        step = page.get_by_role("button", name="Step")
        step.click()
        page.get_by_text("Step: 1").wait_for(timeout=20_000)
        step.click()
        page.get_by_text("Step: 2").wait_for(timeout=20_000)
        assert step_count(page) == 2
        page.wait_for_function(
            "src => document.querySelector(\"img[src^='data:image/png'], img[src^='blob:']\").src"
            " !== src",
            arg=before,
            timeout=20_000,
        )  # the snapshot was redrawn for the new step
        # offline: nothing was even asked of another host, and every local asset was there
        assert page.blocked == [], page.blocked
        assert broken == [], broken
        if os.environ.get("PACKETFLOW_REFRESH_SCREENSHOTS") == "1":
            for n in range(3, 41):  # a screenshot of a busy arena, not an empty one
                step.click()
                page.get_by_text(f"Step: {n}").wait_for(timeout=20_000)
            page.wait_for_timeout(500)
            save_screenshot(page, "viz")


def test_killing_viz_stops_its_server_and_frees_the_port(tmp_path):
    """kill -9 of the ``viz`` process itself (not its group): nothing is left on the port."""
    port = free_port()
    with open(tmp_path / "viz.log", "wb") as log:
        proc = subprocess.Popen(
            [*CLI, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for_port_closed(port), f"port {port} still served after killing viz"
    finally:
        with contextlib.suppress(ProcessLookupError):  # a leftover child, had the test failed
            os.killpg(proc.pid, signal.SIGKILL)
    assert "serving customer_support on" in Path(tmp_path / "viz.log").read_text()
