"""The Mesa agents of the arena: zones, and the capabilities placed in them.

Intents are not agents — there can be a million of them — they live in :mod:`arena.swarm`.
Zone state (occupancy, queue length, per-step counts) is kept in the arrays of the model's
:class:`~arena.model.state.ArenaState`; the agent's attributes read from them, so
visualisations see the same numbers the physics uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa.experimental.continuous_space import ContinuousSpaceAgent

if TYPE_CHECKING:
    from .model import ArenaModel


class ZoneAgent(ContinuousSpaceAgent):
    """A region of the arena with ``capacity`` concurrent service slots and a bounded queue."""

    def __init__(
        self,
        model: ArenaModel,
        index: int,
        name: str,
        position: tuple[float, float],
        radius: float,
        capacity: int,
        queue_limit: int,
        specialisation: str | None,
        fallback: bool,
    ):
        super().__init__(model.space, model)
        self.index = index
        self.name = name
        self.position = position
        self.radius = radius
        self.capacity = capacity
        self.queue_limit = queue_limit
        self.specialisation = specialisation
        self.fallback = fallback

    @property
    def occupancy(self) -> int:
        return int(self.model.occupancy[self.index])

    @property
    def queue_length(self) -> int:
        return int(self.model.queue_length[self.index])

    @property
    def utilisation(self) -> float:
        return self.occupancy / self.capacity

    @property
    def arrivals(self) -> int:
        return int(self.model.state.step_arrivals[self.index])

    @property
    def completions(self) -> int:
        return int(self.model.state.step_completions[self.index])

    @property
    def drops(self) -> int:
        return int(self.model.state.step_drops[self.index])


class CapabilityAgent(ContinuousSpaceAgent):
    """A capability placed in a zone; ``served`` counts the intents it has started serving."""

    def __init__(
        self,
        model: ArenaModel,
        index: int,
        name: str,
        zone: ZoneAgent,
        position: tuple[float, float],
    ):
        super().__init__(model.space, model)
        self.index = index
        self.name = name
        self.zone = zone
        self.position = position

    @property
    def served(self) -> int:
        return int(self.model.capability_served[self.index])
