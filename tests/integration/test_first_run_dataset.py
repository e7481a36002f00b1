"""The first-run benchmark's data set: a scenario from a YAML file alone, ~11k texts that no
cache holds (none is a CLINC150 text), reproducible."""

from __future__ import annotations

import json

from paths import CLINC150_DIR

from arena.scenario import load_scenario
from benchmarks.first_run import write_new_dataset


def test_the_new_data_set_is_hwu64_sized_unseen_and_reproducible(tmp_path):
    n = write_new_dataset(tmp_path / "a")
    assert 10_500 <= n <= 11_000
    sc = load_scenario(tmp_path / "a" / "scenario.yaml")
    arrivals = sc.load_source()
    assert len(arrivals) == 2000 and sc.examples is not None
    clinc = json.loads((CLINC150_DIR / "data_train_val.json").read_text())
    known = {t for rows in clinc.values() for t, _ in rows}
    written = json.loads((tmp_path / "a" / "texts.json").read_text())
    texts = [t for rows in written.values() for t, _ in rows]
    assert not known & set(texts)
    write_new_dataset(tmp_path / "b")
    assert (tmp_path / "a" / "texts.json").read_text() == (
        tmp_path / "b" / "texts.json"
    ).read_text()
