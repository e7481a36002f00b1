"""The Mesa model: :class:`ArenaModel` and what it is built from.

``model`` (the step: arrivals, routing, physics, capture), ``build`` (construction from a
scenario), ``service`` (admission, overflow, queues, spill, service), ``agents`` (zone and
capability agents), ``ledger`` (one row per intent), ``summary`` (:class:`RunSummary`).
"""

from .agents import CapabilityAgent, ZoneAgent
from .build import ARENA_INPUTS, zone_layout
from .ledger import (
    COMPLETED,
    DROP_REASONS,
    DROPPED,
    IN_SERVICE,
    OUTCOMES,
    QUEUED,
    STATE_NAMES,
    Ledger,
)
from .model import ArenaModel
from .requests import REQUEST_COLUMNS, REQUEST_OUTCOMES, requests_frame
from .state import ArenaState
from .summary import Millis, OutOfScope, RunSummary, format_summary, summarise
from .view import ArenaView, zone_load_frame

__all__ = [
    "ARENA_INPUTS",
    "COMPLETED",
    "DROPPED",
    "DROP_REASONS",
    "IN_SERVICE",
    "OUTCOMES",
    "QUEUED",
    "REQUEST_COLUMNS",
    "REQUEST_OUTCOMES",
    "STATE_NAMES",
    "ArenaModel",
    "ArenaState",
    "ArenaView",
    "CapabilityAgent",
    "Ledger",
    "Millis",
    "OutOfScope",
    "RunSummary",
    "ZoneAgent",
    "format_summary",
    "requests_frame",
    "summarise",
    "zone_layout",
    "zone_load_frame",
]
