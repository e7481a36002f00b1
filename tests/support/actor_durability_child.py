"""Child process for the actor durability test: sends messages to counter actors until killed.

Usage: ``python actor_durability_child.py STORE LOG N_MESSAGES N_ACTORS [TAG]``. Message ``i``
goes to actor ``c{i % N_ACTORS}`` with value ``i + 1`` and idempotency key ``{TAG}m{i}``; one
sender per actor id runs concurrently with the others. Several children may share STORE (the
two-process tests): distinct TAGs send distinct messages, equal TAGs resend the same ones. Before sending, the child appends ``s i`` to LOG;
after the reply came back, ``a i``. Each line is one unbuffered ``os.write`` so a SIGKILL never
loses a line that was written (the page cache survives the process).
"""

from __future__ import annotations

import asyncio
import os
import sys

from capabilities import Engine, Registry
from capabilities.runtime.actors import ActorRuntime


def build_registry() -> Registry:
    registry = Registry()

    @registry.actor(
        requires={"value": int}, provides=["count", "total"], initial_state={"count": 0, "sum": 0}
    )
    async def counter(message: dict, state: dict) -> tuple[dict, dict]:
        """Add the message's value to a running total."""
        state["count"] += 1
        state["sum"] += message["value"]
        await asyncio.sleep(0)  # let other actors' messages interleave
        return {"count": state["count"], "total": state["sum"]}, state

    return registry


async def main(store: str, log: str, n: int, actors: int, tag: str = "") -> None:
    engine = Engine(build_registry(), store=store)
    runtime = ActorRuntime(engine)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    async def sender(a: int) -> None:
        for i in range(a, n, actors):
            os.write(fd, f"s {i}\n".encode())
            result = await runtime.send(
                "counter", f"c{a}", {"value": i + 1}, idempotency_key=f"{tag}m{i}"
            )
            result.unwrap()
            os.write(fd, f"a {i}\n".encode())

    await asyncio.gather(*(sender(a) for a in range(actors)))
    os.write(fd, b"done\n")


if __name__ == "__main__":
    store, log, n, actors = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    asyncio.run(main(store, log, n, actors, *sys.argv[5:6]))
