"""One row per request, in the columns a live deployment records too (``requests.csv``).

Why one table for both: ``validate`` compares a simulated run with a live one request by
request and metric by metric; if each side had its own shape, every comparison would carry a
translation. The simulation writes this frame from its ledger, the live rig from its SQLite
rows, and both compute their :class:`~arena.model.summary.RunSummary` from the same times.

Times are float seconds from the run's start: ``sent_s`` (the request reached the gateway),
``routed_s`` (its zone was chosen; in the simulation deliberation takes no time, so it equals
``sent_s``; a live run records it), ``queued_s`` (it reached the zone), ``started_s`` and ``finished_s`` (service), and
``first_token_s`` on an LLM replica. ``outcome`` is one of :data:`REQUEST_OUTCOMES`; ``reason``
says why a request was dropped or failed ("" otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .ledger import COMPLETED, DROP_REASONS, DROPPED, OUTCOMES

if TYPE_CHECKING:  # annotations only
    from .view import ArenaView

REQUEST_OUTCOMES = ("completed", "failed", "dropped", "unfinished")
REQUEST_COLUMNS = (
    "id",
    "zone",
    "outcome",
    "reason",
    "sent_s",
    "routed_s",
    "queued_s",
    "started_s",
    "finished_s",
    "first_token_s",
    "label",
    "capability",
    "input_tokens",
    "output_tokens",
)
#: the reason a capability's call that ended in failure (its policy gave up) is given
CALL_FAILED = "call failed"


def requests_frame(view: ArenaView) -> pd.DataFrame:
    """The run's requests, one row each, in :data:`REQUEST_COLUMNS` (see the module's note)."""
    L = view.ledger
    n = len(L)
    zone_names = np.array([*view.zone_names, ""], dtype=object)
    label_names = np.array([*view.label_names, ""], dtype=object)
    cap_names = np.array([*view.capability_names, ""], dtype=object)
    failed = (L.state == COMPLETED) & (L.outcome == OUTCOMES.index("failed"))
    outcome = np.full(n, "unfinished", dtype=object)
    outcome[L.state == COMPLETED] = "completed"
    outcome[failed] = "failed"
    outcome[L.state == DROPPED] = "dropped"
    reason = np.full(n, "", dtype=object)
    dropped = (L.state == DROPPED) & (L.reason >= 0)
    reason[dropped] = np.array(DROP_REASONS, dtype=object)[L.reason[dropped]]
    reason[failed] = CALL_FAILED
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "zone": zone_names[L.zone],  # -1 (never reached a zone) is the last entry: ""
            "outcome": outcome,
            "reason": reason,
            "sent_s": L.arrival,
            "routed_s": np.where(np.isfinite(L.routed), L.routed, L.arrival),
            "queued_s": L.reach,
            "started_s": L.start,
            "finished_s": L.end,
            "first_token_s": L.first_token,
            "label": label_names[L.label],
            "capability": cap_names[L.capability],
            "input_tokens": L.input_tokens.astype(np.int64),
            "output_tokens": L.output_tokens.astype(np.int64),
        },
        columns=list(REQUEST_COLUMNS),
    )
