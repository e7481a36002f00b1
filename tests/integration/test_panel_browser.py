"""Notebook 02 in a real JupyterLab, driven by a real browser: run all, drag the temperature
slider to each end, and the panel redraws every time without an error.

This is the path that froze the panel: a log slider's right end arrives as 5.000000000000001,
outside ``Physics``' range, and the debounced redraw's error vanished into the event loop.
The notebook runs from a working copy in a temporary directory, so no output reaches the repo.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys

import pytest
from browser import browser_page, free_port, save_screenshot, server
from paths import NOTEBOOKS_DIR, SCENARIOS_DIR

NOTEBOOK = "02_tune_physics.ipynb"
pytestmark = pytest.mark.slow


def lab_command(port: int, token: str, root) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run all as the menu does
        "--LabApp.news_url=None",  # no news or update checks (and no dialog asking about them)
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no extension listings fetched from PyPI
        *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
    ]


def redraw_number(page) -> int:
    status = page.locator(".widget-html-content", has_text="redraw #").first
    return int(re.search(r"redraw #(\d+)", status.inner_text()).group(1))


def drag_to_end(page, slider, end: str) -> None:
    """Drag the slider's handle past the end of its track and let go, as a hand does."""
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    track = slider.locator(".noUi-target").bounding_box()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target = track["x"] + track["width"] + 40 if end == "right" else track["x"] - 40
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(target, y, steps=12)
    page.mouse.up()


def wait_for_redraw_after(page, number: int, timeout: float = 60_000) -> int:
    page.wait_for_function(
        """n => [...document.querySelectorAll('.widget-html-content')]
                .some(e => (e.innerText.match(/redraw #(\\d+)/) || [0, -1])[1] > n)""",
        arg=number,
        timeout=timeout,
    )
    return redraw_number(page)


def test_notebook_02_panel_redraws_at_both_ends_of_a_slider_in_jupyterlab(tmp_path):
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOKS_DIR / NOTEBOOK, work / "notebooks" / NOTEBOOK)
    (work / "scenarios").symlink_to(SCENARIOS_DIR)  # the notebook finds ../scenarios
    port, token = free_port(), secrets.token_hex(16)
    env = {
        "PACKETFLOW_NOTEBOOK_SMALL": "1",
        "HF_HUB_OFFLINE": "1",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),  # nobody's own Jupyter settings
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
    }
    notifications = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    notifications.mkdir(parents=True)  # no toast asking about news over the panel
    (notifications / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    command = lab_command(port, token, work / "notebooks")
    with (
        server(command, port, env=env, log=tmp_path / "lab.log"),
        browser_page(viewport=(1500, 1100)) as page,
    ):
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}")
        page.wait_for_function(
            "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
            "?.status === 'idle'",
            timeout=60_000,
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        # the last cell shows the snapshot figure once everything above it has run
        page.wait_for_function(
            """() => { const cells = document.querySelectorAll('.jp-CodeCell');
                       const last = cells[cells.length - 1];
                       return last && last.querySelector('.jp-OutputArea-output img'); }""",
            timeout=120_000,
        )
        assert page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0
        count = redraw_number(page)
        assert count >= 7  # the first draw, three timing redraws and three scripted ones
        slider = page.locator(".widget-slider", has=page.get_by_text("temperature", exact=True))
        image = page.locator(".jp-OutputArea-output img.widget-image").first
        for end, readout in (("right", 5.0), ("left", 1e-4)):
            before = image.get_attribute("src")
            drag_to_end(page, slider, end)
            count = wait_for_redraw_after(page, count)
            assert float(slider.locator(".widget-readout").inner_text()) == pytest.approx(readout)
            assert page.get_by_text("redraw failed").count() == 0  # no red error in the panel
            assert image.get_attribute("src") != before  # the plot was redrawn
        assert page.blocked == [], page.blocked  # JupyterLab asked nothing of the outside
        panel = page.locator(".jp-OutputArea-output", has=slider).first
        panel.scroll_into_view_if_needed()
        save_screenshot(panel, "panel")
    assert not (NOTEBOOKS_DIR / ".ipynb_checkpoints").exists()
