"""Outputs are written atomically (old or new, never a mix, also on Ctrl-C) and summary.json is
always valid JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import pytest
from arena_fixtures import scenario
from fakes import BagOfWordsEmbedder

import arena.analysis.output as output
from arena.analysis import OutputError, check_out_dir, write_outputs
from arena.model import ArenaModel


def model(steps=6, seed=1):
    m = ArenaModel(scenario(steps=steps), seed=seed, embedder=BagOfWordsEmbedder())
    m.run()
    return m


def contents(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def siblings(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def test_ctrl_c_while_writing_leaves_the_previous_outputs_untouched(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_outputs(model(steps=6), out)
    before = contents(out)
    new = model(steps=9, seed=2)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    import arena.analysis.plots as plots

    monkeypatch.setattr(plots, "arena_snapshot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(new, out)
    assert contents(out) == before
    assert siblings(out) == []  # the temporary folder is gone


def test_a_new_run_replaces_every_file_and_keeps_what_is_not_ours(tmp_path):
    out = tmp_path / "out"
    write_outputs(model(steps=6), out)
    (out / "notes.txt").write_text("mine")
    (out / "other_run").mkdir()
    (out / "other_run" / "summary.json").write_text("{}")
    old = contents(out)
    write_outputs(model(steps=9, seed=2), out)
    new = contents(out)
    assert new["summary.json"] != old["summary.json"]
    assert new["zone_load.csv"] != old["zone_load.csv"]
    assert new["notes.txt"] == b"mine" and (out / "other_run" / "summary.json").exists()
    assert siblings(out) == []
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's private 0700


def test_ctrl_c_during_the_swap_is_held_until_the_new_outputs_are_in_place(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_outputs(model(steps=6), out)
    real_rename = os.rename
    sent = []

    def rename(src, dst):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the swap
        real_rename(src, dst)

    monkeypatch.setattr(output.os, "rename", rename)
    new = model(steps=9, seed=2)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(new, out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == new.steps  # the new outputs, complete
    assert sorted(contents(out)) == sorted(output.OUTPUT_FILES)


def test_summary_json_is_valid_json_even_with_nan(tmp_path):
    m = model()
    summary = dataclasses.replace(
        m.summary(), rate_scale=float("nan"), routing_accuracy=float("inf")
    )
    write_outputs(m, tmp_path / "out", summary)

    def bare(name):
        raise AssertionError(f"bare {name} in summary.json")

    data = json.loads((tmp_path / "out" / "summary.json").read_text(), parse_constant=bare)
    assert data["rate_scale"] is None and data["routing_accuracy"] is None


def test_check_out_dir_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        check_out_dir(tmp_path / "f")
    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
