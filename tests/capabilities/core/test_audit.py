"""The audit log's two modes: what a reader sees while the engine runs, and what exit flushes."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capabilities import AuditStore, Engine, Execution, PacketFlowError, Registry, audit_log
from capabilities.sqlite import connect

EXECUTION = Execution("c", ("a",), "ok", 0.1, "r1", "ada")


def count(path: Path) -> int:
    db = connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    finally:
        db.close()


def test_batched_rows_reach_a_reader_within_the_flush_interval_without_close(tmp_path):
    path = tmp_path / "audit.sqlite"
    store = AuditStore(str(path), flush_interval=0.005)
    for _ in range(3):
        store.write(EXECUTION, "info")
    deadline = time.monotonic() + 5
    while count(path) < 3 and time.monotonic() < deadline:
        time.sleep(0.002)
    assert count(path) == 3  # committed by the background flush, the store still open
    store.close()


def test_durable_rows_are_committed_before_write_returns(tmp_path):
    path = tmp_path / "audit.sqlite"
    store = AuditStore(str(path), mode="durable")
    for i in range(1, 4):
        store.write(EXECUTION, "info")
        assert count(path) == i
    store.close()
    db = connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_engine_audit_mode_reaches_the_store(tmp_path):
    registry = Registry()

    @registry.capability(provides=["y"], effects=[audit_log()])
    def same(x: int) -> int:
        """Return x."""
        return x

    with Engine(registry, store=tmp_path / "a.sqlite", audit_mode="durable") as engine:
        assert engine.audit.mode == "durable"
        engine.run("same", {"x": 1})
        assert count(tmp_path / "a.sqlite") == 1


CHILD = """
import sys
from capabilities import AuditStore, Execution
store = AuditStore(sys.argv[1], flush_interval=30)  # far longer than the process lives
for _ in range(7):
    store.write(Execution("c", ("a",), "ok", 0.1, "r1", "ada"), "info")
if sys.argv[2] == "exit":
    sys.exit(0)  # no close(): the interpreter's exit hook flushes
raise RuntimeError("crash")  # an unhandled exception ends the process the same way
"""


@pytest.mark.parametrize("how", ["exit", "raise"])
def test_pending_rows_are_flushed_at_interpreter_exit(tmp_path, how):
    path = tmp_path / "audit.sqlite"
    subprocess.run([sys.executable, "-c", CHILD, str(path), how], timeout=60, capture_output=True)
    assert count(path) == 7


def test_a_dropped_store_flushes_when_collected(tmp_path):
    path = tmp_path / "audit.sqlite"
    store = AuditStore(str(path), flush_interval=30)
    store.write(EXECUTION, "info")
    del store
    gc.collect()
    assert count(path) == 1


def test_close_is_idempotent_and_a_closed_store_refuses_rows(tmp_path):
    store = AuditStore(str(tmp_path / "audit.sqlite"))
    store.close()
    store.close()
    with pytest.raises(PacketFlowError, match="closed"):
        store.write(EXECUTION, "info")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "fast"}, "mode must be one of"),
        ({"flush_interval": 0}, "flush_interval"),
        ({"flush_interval": float("nan")}, "flush_interval"),
        ({"flush_interval": "5ms"}, "flush_interval"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(tmp_path, kwargs, match):
    with pytest.raises(PacketFlowError, match=match):
        AuditStore(str(tmp_path / "audit.sqlite"), **kwargs)
