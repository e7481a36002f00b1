"""Crash durability of the audit log: SIGKILL an audited process at a random moment.

A child (``audit_kill_child.py``) runs an audited capability in a loop and logs each call it
got a Result for (``a <time>``). We SIGKILL it after a random number of acknowledged calls and
count the rows that reached the file (the audit rows of one sequential caller are a prefix of
its calls):

- ``durable``: every acknowledged call has its row — none lost;
- ``batched``: the rows lost are only those of the calls acknowledged in the last flush
  interval before the kill (5 ms; the test allows 45 ms more for scheduling on a shared
  machine) — where a 512-row buffer that waited for ``close()`` lost up to 511 rows, however
  old.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from killing import acks_in, kill_when
from paths import SUPPORT_DIR

CHILD = SUPPORT_DIR / "audit_kill_child.py"
INTERVAL_S = 0.005  # the default flush_interval
SLACK_S = 0.045  # scheduling on a shared 2-core machine


def _kill_after(
    tmp_path: Path, mode: str, acks: int, pause: float = 0.0
) -> tuple[list[float], int]:
    store, log = tmp_path / "audit.sqlite", tmp_path / "acks.log"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(store), str(log), mode, str(pause)], stderr=subprocess.PIPE
    )
    err = kill_when(child, lambda: acks_in(log) >= acks)
    assert child.returncode == -signal.SIGKILL, err
    times = [float(line[2:]) for line in log.read_text().splitlines() if line.startswith("a ")]
    db = sqlite3.connect(store)
    (rows,) = db.execute("SELECT COUNT(*) FROM audit_log").fetchone()
    db.close()
    return times, rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_durable_mode_loses_no_acknowledged_row(tmp_path: Path, seed: int) -> None:
    acks = random.Random(seed).randrange(50, 400)
    times, rows = _kill_after(tmp_path, "durable", acks)
    assert len(times) >= acks
    # every acknowledged call is in the log; at most the one call in flight is there unacked
    assert len(times) <= rows <= len(times) + 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_batched_mode_loses_at_most_the_last_flush_interval(tmp_path: Path, seed: int) -> None:
    acks = random.Random(seed).randrange(300, 1_500)
    times, rows = _kill_after(tmp_path, "batched", acks, pause=0.0005)  # ~2,000 calls/s
    assert len(times) >= acks
    assert 0 < rows <= len(times) + 1, "the group commit never committed anything"
    lost = times[rows:]  # the calls acknowledged whose rows did not reach the file
    window = times[-1] - lost[0] if lost else 0.0
    print(
        f"batched: {len(times)} acknowledged, {len(lost)} lost, acknowledged within the last "
        f"{window * 1e3:.1f} ms before the kill"
    )
    assert window <= INTERVAL_S + SLACK_S, (
        f"lost {len(lost)} rows acknowledged over {window * 1e3:.1f} ms, more than the "
        f"{INTERVAL_S * 1e3:.0f} ms flush interval (+{SLACK_S * 1e3:.0f} ms slack)"
    )
