"""A live run as an :class:`~arena.model.ArenaView`: the simulation's summary, from the rows.

The scenario's model (built, never stepped) supplies what is fixed — zones, capabilities,
labels, the router's name; the ledger is filled from the SQLite rows, so
:func:`arena.model.summarise` computes the same :class:`RunSummary` as for a simulated run.
Each row's ``sent`` is the ledger's ``arrival``, ``queued`` its ``reach``, ``started`` and
``finished`` its ``start`` and ``end``. A request that failed without being served (its worker
was lost, the routing failed) counts as completed with outcome ``failed``, its times all at the
moment it failed, as a failed call is in the simulation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..model import COMPLETED, DROP_REASONS, DROPPED, OUTCOMES, ArenaModel, ArenaView, Ledger


def ledger_from_rows(model: ArenaModel, rows: pd.DataFrame) -> Ledger:
    """The ledger of the live run whose rows are ``rows`` (one per request sent)."""
    L = Ledger(max(1024, len(rows)))
    if not len(rows):
        return L
    text = rows["text"].to_numpy(np.int32)
    ids = L.append(text, model.source_labels[text], rows["sent"].to_numpy(float))
    a = model.arrivals
    rid = rows["id"].to_numpy(np.int64)
    L.set(ids, input_tokens=a.input_tokens[rid], output_tokens=a.output_tokens[rid])
    zone_of = {n: i for i, n in enumerate(model.zone_names)}
    cap_of = {n: i for i, n in enumerate(model.capability_names)}
    zone = rows["zone"].map(lambda z: zone_of.get(z, -1)).to_numpy(np.int16)
    cap = rows["capability"].map(lambda c: cap_of.get(c, -1)).to_numpy(np.int32)
    finished = rows["finished"].to_numpy(float)
    at = np.where(np.isfinite(finished), finished, rows["routed"].to_numpy(float))
    at = np.where(np.isfinite(at), at, rows["sent"].to_numpy(float))
    reach = _or(rows["queued"].to_numpy(float), at)
    start = _or(rows["started"].to_numpy(float), at)
    outcome = rows["outcome"].to_numpy(object)
    dropped = outcome == "dropped"
    code = np.array([OUTCOMES.index(o) if o in OUTCOMES else 0 for o in outcome], dtype=np.int8)
    reason = np.array(
        [
            DROP_REASONS.index(r) if d and r in DROP_REASONS else -1
            for d, r in zip(dropped, rows["reason"])
        ],
        dtype=np.int8,
    )
    L.set(
        ids,
        state=np.where(dropped, DROPPED, COMPLETED).astype(np.int8),
        zone=zone,
        capability=np.where(dropped, -1, cap),
        routed=rows["routed"].to_numpy(float),
        reach=reach,
        start=np.where(dropped, np.nan, start),
        end=np.where(dropped, np.nan, at),
        outcome=code,
        reason=reason,
    )
    if "overflow" in rows:
        L.set(ids, overflow=rows["overflow"].fillna(0).to_numpy(bool))
    return L


def _or(values: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, fallback)


class LiveView(ArenaView):
    """The view :func:`arena.model.summarise` reads, over a live run's rows."""

    def __init__(self, model: ArenaModel, rows: pd.DataFrame, span: float, sent: int):
        super().__init__(model)
        self._ledger = ledger_from_rows(model, rows)
        self._span = float(span)
        self._sent = int(sent)
        L = self._ledger
        self._dropped = np.bincount(
            L.reason[(L.state == DROPPED) & (L.reason >= 0)], minlength=len(DROP_REASONS)
        ).astype(np.int64)

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def now(self) -> float:
        """Scenario seconds the live run lasted (to its last finished request)."""
        return self._span

    @property
    def steps(self) -> int:
        return 0  # the live run has no ticks

    @property
    def ran_dry_at(self) -> float | None:
        dry = self._m.arrivals.ran_dry_at
        return dry if dry is not None and dry < self._span else None

    @property
    def dropped(self) -> np.ndarray:
        return self._dropped

    def counts(self) -> Mapping[str, int]:
        states = self._ledger.state_counts()
        return {
            "arrived": self._sent,
            "in_flight": 0,
            "queued": 0,
            "in_service": 0,
            "completed": int(states[COMPLETED]),
            "dropped": int(states[DROPPED]),
        }

    def lost(self) -> int:
        """Requests sent that have no row (never, unless the run itself broke)."""
        c = self.counts()
        return c["arrived"] - c["completed"] - c["dropped"]
