"""The README's sample output of the main job is what the main job prints, on this machine and
every other (issue #24): the same seed, the same embedder artefact, the same figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arena.analysis.runner import run_scenario
from arena.model import format_summary

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```\n(scenario clinc150  router physics  seed 42.*?)```", re.S)


@pytest.mark.slow
def test_the_readme_sample_is_what_the_main_job_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = BLOCK.search(readme)
    assert match, "the README's sample output block is missing"
    sample = match.group(1).strip().splitlines()
    _, summary = run_scenario(ROOT / "scenarios" / "clinc150.yaml")
    printed = format_summary(summary).splitlines()
    assert printed[: len(sample)] == sample
