"""``packetflow-arena fit`` (issue #20): ranking and YAML on stdout, fit.json and fit.png in
--out, and a one-line error naming the file and line for bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from arena.ui.cli import main
from arena.workload import parse_service_model


def test_fit_prints_the_yaml_and_writes_its_files(tmp_path, capsys):
    x = stats.gamma(a=3.0, scale=40.0).rvs(size=3000, random_state=np.random.default_rng(9))
    pd.DataFrame({"id": np.arange(x.size), "latency_ms": x}).to_csv(
        tmp_path / "lat.csv", index=False
    )
    out = tmp_path / "out"
    code = main(
        [
            "fit",
            str(tmp_path / "lat.csv"),
            "--column",
            "latency_ms",
            "--unit",
            "ms",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    snippet = next(line for line in printed.splitlines() if line.startswith("service_time:"))
    model = parse_service_model(yaml.safe_load(snippet)["service_time"], file="p", field="s")
    assert model.mean() == pytest.approx(0.120, rel=0.05)  # 3 x 40 ms
    report = json.loads((out / "fit.json").read_text())
    assert report["pick"] == "gamma" and report["n"] == 3000 and report["unit"] == "ms"
    assert (out / "fit.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_rows_and_columns_are_one_line(tmp_path, capsys):
    (tmp_path / "lat.csv").write_text("latency_ms\n1\n2\n-4\n")
    assert (
        main(
            [
                "fit",
                str(tmp_path / "lat.csv"),
                "--column",
                "latency_ms",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.endswith("lat.csv: latency_ms: line 4: must be a finite latency above 0, got '-4'")
    assert "\n" not in err
    assert (
        main(["fit", str(tmp_path / "lat.csv"), "--column", "ms", "--out", str(tmp_path / "o")])
        == 2
    )
    assert "no column 'ms' (the columns are: latency_ms)" in capsys.readouterr().err
