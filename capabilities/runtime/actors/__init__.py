"""Durable actors: capabilities with memory, one mailbox per actor id, state in SQLite.

``spec`` (ActorSpec) < ``store`` (schema, JSON) < ``runtime`` (ActorRuntime: mailboxes,
delivery, commit, compaction) < ``declare`` (``actor_capability``, used by ``Registry.actor``).
"""

from capabilities.runtime.actors.declare import ACTOR_FIELDS, ActorOptions, actor_capability
from capabilities.runtime.actors.runtime import ActorRuntime, runtime_for
from capabilities.runtime.actors.spec import (
    ACTOR_INPUTS,
    ActorSpec,
    LoggedMessage,
    actor_spec,
    actors_of,
)

__all__ = [
    "ACTOR_FIELDS",
    "ACTOR_INPUTS",
    "ActorOptions",
    "ActorRuntime",
    "ActorSpec",
    "LoggedMessage",
    "actor_capability",
    "actor_spec",
    "actors_of",
    "runtime_for",
]
