"""One name for each option across the subcommands that fan runs out (sweep, tune, plan)."""

from __future__ import annotations

import pytest

from arena.analysis.sweep import BACKENDS
from arena.ui.cli import build_parser

FANNING = {
    "sweep": ["s.yaml", "--grid", "router=random"],
    "tune": ["s.yaml", "--minimize", "wait_p95"],
    "plan": ["s.yaml", "--slo", "wait_p95<=3"],
}


@pytest.mark.parametrize("command", sorted(FANNING))
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fanning_command_takes_the_same_backend_words(command, backend):
    args = build_parser().parse_args([command, *FANNING[command], "--backend", backend])
    assert args.backend == backend


@pytest.mark.parametrize("command", sorted(FANNING))
def test_the_default_backend_is_the_same_everywhere(command):
    assert build_parser().parse_args([command, *FANNING[command]]).backend == "processes"


@pytest.mark.parametrize("command", sorted(FANNING))
def test_plans_old_word_local_is_accepted_with_a_note(command, capsys):
    args = build_parser().parse_args([command, *FANNING[command], "--backend", "local"])
    assert args.backend == "processes"
    assert "--backend local is spelled --backend processes" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(FANNING))
def test_rate_scale_is_an_option_of_every_fanning_command(command):
    args = build_parser().parse_args([command, *FANNING[command], "--rate-scale", "1.5"])
    assert args.rate_scale == 1.5
