"""Crash durability of actors: SIGKILL a sender at a random moment, restart, check exactly-once.

A child process (``actor_durability_child.py``) sends messages to counter actors and logs
``s i`` before each send and ``a i`` after its reply. We kill it with SIGKILL once a random
number of replies has been acknowledged, then reopen the store in this process and check:

- every acknowledged message is reflected exactly once in its actor's state and message log;
- nothing unacknowledged is, except at most the one message per actor that was in flight (its
  commit landed but the reply never reached the sender) — which a resend with the same
  idempotency key then answers from the log without applying it a second time;
- after resending every unacknowledged message, each sent message is applied exactly once.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from paths import SUPPORT_DIR

from capabilities import Engine
from capabilities.runtime.actors import ActorRuntime

CHILD = SUPPORT_DIR / "actor_durability_child.py"
from actor_durability_child import build_registry  # noqa: E402


def _read_log(path: Path) -> tuple[list[int], set[int], bool]:
    sent, acked, done = [], set(), False
    for line in path.read_text().splitlines():
        if line == "done":
            done = True
        elif line.startswith("s "):
            sent.append(int(line[2:]))
        elif line.startswith("a "):
            acked.add(int(line[2:]))
    return sent, acked, done


def _run_and_kill(tmp_path: Path, n: int, actors: int, kill_after: int) -> Path:
    store, log = tmp_path / "actors.sqlite", tmp_path / "sent.log"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(store), str(log), str(n), str(actors)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if log.exists() and log.read_bytes().count(b"\na ") + 1 > kill_after:
                break
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        _, err = child.communicate(timeout=30)
    assert child.returncode in (-signal.SIGKILL, 0), err.decode()
    return tmp_path


@pytest.mark.parametrize(
    ("seed", "n", "actors"),
    [(1, 10_000, 8), (2, 2_000, 4), (3, 2_000, 4), (4, 1_000, 1)],
)
def test_sigkill_at_random_moment_loses_nothing_acknowledged_and_applies_once(
    tmp_path: Path, seed: int, n: int, actors: int
) -> None:
    kill_after = random.Random(seed).randrange(1, n)
    _run_and_kill(tmp_path, n, actors, kill_after)
    sent, acked, done = _read_log(tmp_path / "sent.log")
    assert acked <= set(sent)
    assert done or len(acked) < n, "the child should have been killed before finishing"

    with Engine(build_registry(), store=str(tmp_path / "actors.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        in_flight = 0
        for a in range(actors):
            mine = list(range(a, n, actors))
            state = runtime.state("counter", f"c{a}")
            applied = mine[: state["count"]]  # one sender per id: applied is a prefix
            assert state["sum"] == sum(i + 1 for i in applied)
            acked_here = {i for i in mine if i in acked}
            assert acked_here <= set(applied), "an acknowledged message was lost"
            extra = set(applied) - acked_here
            assert len(extra) <= 1, f"unacknowledged messages applied: {sorted(extra)}"
            assert extra <= set(sent)
            in_flight += len(extra)
            log = runtime.history("counter", f"c{a}")
            assert [m.idempotency_key for m in log] == [f"m{i}" for i in applied]
            assert [m.seq for m in log] == list(range(1, len(applied) + 1))

        # The sender resends everything it never saw a reply for, with the same keys.
        for i in sorted(set(sent) - acked):
            a = i % actors
            before = runtime.state("counter", f"c{a}")
            reply = runtime.send_sync(
                "counter", f"c{a}", {"value": i + 1}, idempotency_key=f"m{i}"
            ).unwrap()
            after = runtime.state("counter", f"c{a}")
            if i in range(a, n, actors)[: before["count"]]:
                assert after == before, "a resend of a committed message was applied twice"
            else:
                assert after["count"] == before["count"] + 1
            assert reply["total"] <= after["sum"]
        for a in range(actors):
            state = runtime.state("counter", f"c{a}")
            mine_sent = [i for i in sent if i % actors == a]
            assert state["count"] == len(mine_sent)
            assert state["sum"] == sum(i + 1 for i in mine_sent)
        assert in_flight <= actors
