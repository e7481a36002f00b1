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
from pathlib import Path

import pytest
from killing import acks_in, kill_when
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
    err = kill_when(child, lambda: acks_in(log) > kill_after)
    assert child.returncode in (-signal.SIGKILL, 0), err
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


# -- two processes on one store ---------------------------------------------------------------
def _start(tmp_path: Path, tag: str, n: int, actors: int) -> subprocess.Popen:
    store, log = tmp_path / "actors.sqlite", tmp_path / f"sent-{tag}.log"
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(store), str(log), str(n), str(actors), tag],
        stderr=subprocess.PIPE,
    )


def _finish(child: subprocess.Popen) -> None:
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err.decode()[-2000:]


@pytest.mark.parametrize(("n", "actors"), [(300, 1), (400, 2)])
def test_two_processes_sending_to_the_same_actors_apply_every_message_once(
    tmp_path: Path, n: int, actors: int
) -> None:
    children = [_start(tmp_path, tag, n, actors) for tag in ("A", "B")]
    for child in children:
        _finish(child)
    with Engine(build_registry(), store=str(tmp_path / "actors.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        for a in range(actors):
            mine = list(range(a, n, actors))
            state = runtime.state("counter", f"c{a}")
            assert state["count"] == 2 * len(mine)
            assert state["sum"] == 2 * sum(i + 1 for i in mine)
            log = runtime.history("counter", f"c{a}")
            assert [m.seq for m in log] == list(range(1, 2 * len(mine) + 1))  # contiguous
            keys = sorted(m.idempotency_key for m in log)
            assert keys == sorted(f"{t}m{i}" for t in "AB" for i in mine)  # each exactly once


def test_two_processes_resending_the_same_messages_apply_each_once(tmp_path: Path) -> None:
    n = 300
    children = [_start(tmp_path, "same", n, 1) for _ in range(2)]
    for child in children:
        _finish(child)
    _, acked, done = _read_log(tmp_path / "sent-same.log")  # one log, appended by both
    assert done and acked == set(range(n))  # and both exited 0 after unwrapping every reply
    with Engine(build_registry(), store=str(tmp_path / "actors.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        state = runtime.state("counter", "c0")
        assert state == {"count": n, "sum": sum(i + 1 for i in range(n))}
        assert [m.seq for m in runtime.history("counter", "c0")] == list(range(1, n + 1))


@pytest.mark.parametrize("seed", [5, 6])
def test_sigkill_of_one_of_two_processes_loses_nothing_and_applies_once(
    tmp_path: Path, seed: int
) -> None:
    n = 600
    survivor = _start(tmp_path, "S", n, 1)
    victim = _start(tmp_path, "V", n, 1)
    log, other = tmp_path / "sent-V.log", tmp_path / "sent-S.log"
    kill_after = random.Random(seed).randrange(20, n // 2)
    # both must be sending (interleaved) when the victim dies
    kill_when(victim, lambda: acks_in(other) >= 10 and acks_in(log) > kill_after)
    _finish(survivor)  # the other process keeps sending through the kill, undisturbed

    sent, acked, _ = _read_log(log)
    with Engine(build_registry(), store=str(tmp_path / "actors.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        logged = {m.idempotency_key for m in runtime.history("counter", "c0")}
        assert {f"Vm{i}" for i in acked} <= logged, "an acknowledged message was lost"
        assert {f"Sm{i}" for i in range(n)} <= logged
        assert len(logged - {f"Vm{i}" for i in acked} - {f"Sm{i}" for i in range(n)}) <= 1
        for i in sorted(set(sent) - acked):  # the killed sender's resends, same keys
            runtime.send_sync("counter", "c0", {"value": i + 1}, idempotency_key=f"Vm{i}").unwrap()
        state = runtime.state("counter", "c0")
        assert state["count"] == n + len(sent)
        assert state["sum"] == sum(i + 1 for i in range(n)) + sum(i + 1 for i in sent)
        assert [m.seq for m in runtime.history("counter", "c0")] == list(
            range(1, n + len(sent) + 1)
        )
