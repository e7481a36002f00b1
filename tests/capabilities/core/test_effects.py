"""Effects the engine performs on every execution: audit rows, metrics, spans, logging."""

from __future__ import annotations

import itertools
import logging
import time

import numpy as np
import pytest
from fakes import BagOfWordsEmbedder
from hypothesis import given
from hypothesis import strategies as st

from capabilities import (
    AuditStore,
    Context,
    ContractError,
    Engine,
    MetricsRegistry,
    PermissionDenied,
    Registry,
    audit_log,
    metric,
)
from capabilities.sqlite import connect


def build() -> Registry:
    registry = Registry(BagOfWordsEmbedder())

    @registry.capability(
        provides=["score"],
        effects=[
            audit_log(),
            metric("scores_total"),
            metric("score_seconds", kind="histogram"),
            metric("score_value", kind="histogram", value="score"),
        ],
        permissions=["scores:read"],
    )
    def score(text: str, weight: float = 1.0) -> float:
        """Score a text."""
        if text == "fail":
            raise ValueError("cannot score 'fail'")
        return weight * len(text)

    @registry.capability(provides=["y"])
    def quiet(x: int) -> int:
        """No declared effects."""
        return x

    return registry


ALLOWED = Context(principal="ada", grants=["scores:read"])


def test_audit_rows_in_a_sqlite_file_cover_ok_failed_rejected_and_denied(tmp_path):
    store = tmp_path / "audit.sqlite"
    before = time.time()
    with Engine(build(), store=store) as engine:
        engine.run("score", {"text": "abc", "weight": 2.0}, ALLOWED)
        engine.run("score", {"text": "fail"}, ALLOWED)
        with pytest.raises(ContractError):
            engine.run("score", {"txt": "abc"}, ALLOWED)
        with pytest.raises(PermissionDenied):
            engine.run("score", {"text": "abc"}, Context(principal="eve"))
        rows = engine.audit.rows("score")
    # executed calls list the inputs the capability ran with (defaults filled in); refused
    # calls list what the caller sent, typos included
    assert [(r["status"], r["input_keys"], r["principal"]) for r in rows] == [
        ("ok", "text,weight", "ada"),
        ("failed", "text,weight", "ada"),
        ("rejected", "txt", "ada"),
        ("denied", "text", "eve"),
    ]
    assert rows[0]["error"] is None
    assert rows[1]["error"] == "ValueError: cannot score 'fail'"
    assert "did you mean 'text'" in rows[2]["error"]
    assert "lacks permission 'scores:read'" in rows[3]["error"]
    assert all(r["request_id"] and r["duration"] >= 0 and r["level"] for r in rows)
    assert all(before <= r["time"] <= time.time() for r in rows)
    assert rows[0]["request_id"] == ALLOWED.request_id


def test_audit_rows_persist_after_close_and_reopen(tmp_path):
    store = tmp_path / "nested" / "audit.sqlite"
    with Engine(build(), store=str(store)) as engine:
        for i in range(5):
            engine.run("score", {"text": "x" * i}, ALLOWED)
    # read the file directly, then through a new engine on the same file
    db = connect(store)
    assert db.execute("SELECT COUNT(*), MIN(status), MAX(status) FROM audit_log").fetchone() == (
        5,
        "ok",
        "ok",
    )
    db.close()
    with Engine(build(), store=store) as engine:
        engine.run("score", {"text": "again"}, ALLOWED)
        assert len(engine.audit.rows("score")) == 6
    assert len(AuditStore(str(store)).rows(status="ok")) == 6


def test_capabilities_without_an_audit_effect_write_no_rows():
    with Engine(build()) as engine:
        assert engine.run("quiet", {"x": 1}).ok
        assert engine.audit.rows() == []


def test_audit_also_goes_to_python_logging_at_error_level_on_failure(caplog):
    caplog.set_level(logging.DEBUG, logger="packetflow.audit")
    with Engine(build()) as engine:
        engine.run("score", {"text": "ok"}, ALLOWED)
        engine.run("score", {"text": "fail"}, ALLOWED)
    records = [(r.levelno, r.getMessage().split()[:2]) for r in caplog.records]
    assert records == [
        (logging.INFO, ["score", "ok"]),
        (logging.ERROR, ["score", "failed"]),
    ]


def test_counters_and_histograms_read_back():
    ticks = itertools.count(0.0, 0.25)  # every execution takes exactly 0.25 s of engine time
    with Engine(build(), clock=lambda: next(ticks)) as engine:
        for text in ("a", "abcd", "fail", "ab"):
            engine.run("score", {"text": text}, ALLOWED)
        with pytest.raises(ContractError):
            engine.run("score", {"text": 1}, ALLOWED)
        m = engine.metrics
    assert m.count("scores_total") == 5
    assert m.count("scores_total", "score", "ok") == 3
    assert m.count("scores_total", status="failed") == 1
    assert m.count("scores_total", status="rejected") == 1
    assert m.count("scores_total", "other") == 0
    seconds = m.summary("score_seconds", "score")
    assert seconds.count == 5 and seconds.sum == pytest.approx(1.25)
    assert seconds.p50 == seconds.max == 0.25
    values = m.summary("score_value")  # the numeric output, only where there was one
    assert values.count == 3
    assert (values.sum, values.max, values.p50) == (7.0, 4.0, 2.0)


def test_summary_of_an_unknown_metric_is_empty():
    s = MetricsRegistry().summary("nothing")
    assert s.count == 0 and s.sum == 0.0 and np.isnan(s.p50)


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.floats(0, 1e6, allow_nan=False)), min_size=1)
)
def test_metrics_registry_counts_and_quantiles_match_numpy(observations):
    m = MetricsRegistry()
    for cap, value in observations:
        m.inc("calls", cap)
        m.observe("latency", cap, value)
    assert m.count("calls") == len(observations)
    assert m.count("calls", "a") == sum(1 for c, _ in observations if c == "a")
    values = np.array([v for _, v in observations])
    s = m.summary("latency")
    assert s.count == len(values)
    assert s.sum == pytest.approx(values.sum())
    assert s.p95 == pytest.approx(np.quantile(values, 0.95))
    assert s.max == values.max()
    a_values = [v for c, v in observations if c == "a"]
    assert m.summary("latency", "a").count == len(a_values)


def test_a_non_numeric_value_metric_does_not_crash_the_engine(caplog):
    registry = Registry(BagOfWordsEmbedder())

    @registry.capability(
        provides=["label"], effects=[metric("label_value", kind="histogram", value="label")]
    )
    def label(text: str) -> str:
        """Label a text."""
        return "spam"

    with Engine(registry) as engine:
        result = engine.run("label", {"text": "x"})
    assert result.ok and result.outputs == {"label": "spam"}
    assert engine.metrics.summary("label_value").count == 0
    assert "label_value" in caplog.text and "not a number" in caplog.text


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: audit_log(level="loud"), "level 'loud'"),
        (lambda: metric("m", kind="gauge"), "kind must be"),
    ],
)
def test_bad_effect_declarations_fail_at_once(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()
