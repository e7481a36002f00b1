"""Running capabilities: the registry, the engine, declarations from data, memory, actors."""

from capabilities.runtime.actors import ActorRuntime, ActorSpec, actor_capability
from capabilities.runtime.declare import capability_from_data
from capabilities.runtime.engine import Engine, Result
from capabilities.runtime.memory import ConversationMemory
from capabilities.runtime.registry import Match, Registry, capability_vectors

__all__ = [
    "ActorRuntime",
    "ActorSpec",
    "ConversationMemory",
    "Engine",
    "Match",
    "Registry",
    "Result",
    "actor_capability",
    "capability_from_data",
    "capability_vectors",
]
