"""Opening one new SQLite file from several processes at once never fails with 'database is
locked' (switching to WAL needs a moment of exclusive access, and SQLite refuses it at once
instead of waiting — two actor processes started together hit it in CI)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from capabilities.sqlite import connect


def _open(path: str, start, errors) -> None:
    start.wait()
    try:
        db = connect(path)
        db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
        db.close()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(repr(exc))


def test_processes_opening_one_new_file_together_all_succeed(tmp_path: Path):
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    for attempt in range(12):
        path = str(tmp_path / f"shared-{attempt}.sqlite")
        start = ctx.Event()
        procs = [ctx.Process(target=_open, args=(path, start, errors)) for _ in range(4)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
        assert all(p.exitcode == 0 for p in procs)
        db = connect(path)
        assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 4
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert errors.empty(), errors.get()


def test_page_size_applies_to_a_new_file_and_an_existing_one_keeps_its_own(tmp_path: Path):
    path = tmp_path / "pages.sqlite"
    db = connect(path, page_size=16384)
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute("INSERT INTO t VALUES (zeroblob(3000))")
    db.close()
    again = connect(path, page_size=1024)  # too late for this file: it stays as it was made
    assert again.execute("PRAGMA page_size").fetchone()[0] == 16384
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again.execute("SELECT length(x) FROM t").fetchone()[0] == 3000
    assert connect(tmp_path / "plain.sqlite").execute("PRAGMA page_size").fetchone()[0] == 4096
