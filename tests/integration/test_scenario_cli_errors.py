"""The CLI reports a broken scenario as one line on stderr (a subprocess, so an integration test)."""

from __future__ import annotations

import subprocess
import sys

import yaml
from arena_fixtures import base_data


def write(tmp_path, data, name="broken.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_cli_reports_a_broken_scenario_in_one_line(tmp_path):
    data = base_data()
    data["zones"][2]["capacity"] = -3
    file = write(tmp_path, data)
    out = subprocess.run(
        [sys.executable, "-m", "arena", "run", str(file), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines == [f"packetflow-arena: error: {file}: zones[2].capacity: must be >= 1, got -3"]
