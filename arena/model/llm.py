"""The model's LLM replicas: which zones have a prefix cache, what each request hits there, and
the prefix state routers see (:class:`~arena.physics.routers.PrefixView`).

A zone is an LLM replica when a capability it hosts has an ``llm`` service time
(:class:`~arena.workload.LLMService`); its cache holds that model's ``cache_blocks``. Requests
carry the prefix-block hash ids of their trace (none without: they never hit). A request's hit
is booked when it is admitted to a zone (its start time is fixed then: FIFO per zone), and the
service time and TTFT of its call follow from it (:class:`~arena.model.sampling.ServiceSampler`
reads it from the call clock). The KV blocks held by requests in service are posted on a load
board of the scenario's ``load_info``, so llm-d's KV scorer reads them as stale as every router
reads occupancy and queues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ScenarioError
from ..physics import HEAD_BLOCKS, LoadBoard, LoadInfo, PrefixView
from ..workload import MAX_FLEET_REPLICAS, LLMService, PrefixFleet

if TYPE_CHECKING:  # annotations only
    from ..scenario import Scenario
    from .ledger import Ledger


def zone_llm_models(sc: Scenario) -> list[LLMService | None]:
    """Per zone, the LLM service model of the capabilities it hosts (None: not a replica). A
    zone whose LLM capabilities disagree on the cache's geometry is refused."""
    by_cap = {c.name: c.service_time for c in sc.capabilities}
    out: list[LLMService | None] = []
    for zi, z in enumerate(sc.zones):
        models = [m for c in z.capabilities if isinstance(m := by_cap.get(c), LLMService)]
        geometry = {(m.block_tokens, m.cache_blocks) for m in models}
        if len(geometry) > 1:
            raise ScenarioError(
                sc.file,
                f"zones[{zi}].capabilities",
                f"zone {z.name!r} hosts llm capabilities with different block_tokens or "
                "cache_blocks; one replica has one prefix cache",
            )
        out.append(models[0] if models else None)
    return out


class LLMZones:
    """The prefix caches of the LLM zones and the requests' blocks (see the module doc)."""

    def __init__(
        self,
        models: list[LLMService | None],
        hash_ids: np.ndarray | None,
        hash_offsets: np.ndarray | None,
        load_info: LoadInfo,
        file: str | None = None,
    ):
        self.models = models
        Z = len(models)
        llm = [i for i, m in enumerate(models) if m is not None]
        if len(llm) > MAX_FLEET_REPLICAS:
            raise ScenarioError(
                file, "zones", f"at most {MAX_FLEET_REPLICAS} LLM zones, got {len(llm)}"
            )
        self.slot = np.full(Z, -1, dtype=np.intp)  # zone -> its cache in the fleet
        self.slot[llm] = np.arange(len(llm))
        self.llm_zones = np.array(llm, dtype=np.intp)
        first = models[llm[0]] if llm else None
        caches = [m.cache_blocks for m in models if m is not None]
        self.fleet = PrefixFleet(len(llm), caches) if first else None
        self.block_tokens = np.array([m.block_tokens if m else 1 for m in models], np.int64)
        self.cache_blocks = np.array([m.cache_blocks if m else 1 for m in models], np.float64)
        self.hash_ids = np.zeros(0, np.int64) if hash_ids is None else hash_ids
        self.offsets = np.zeros(1, np.int64) if hash_offsets is None else hash_offsets
        self.kv_used = np.zeros(Z, dtype=np.float64)
        self.kv_board = LoadBoard(load_info, self.kv_used, self.kv_used)

    @property
    def enabled(self) -> bool:
        return self.fleet is not None

    def blocks(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hash ids of ``rows`` (ledger row = arrival index) in the ragged layout."""
        rows = np.asarray(rows, dtype=np.int64)
        n = len(self.offsets) - 1
        inside = rows < n
        starts = np.where(inside, self.offsets[np.minimum(rows, n)], 0)
        ends = np.where(inside, self.offsets[np.minimum(rows + 1, n)], 0)
        lengths = ends - starts
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        rank = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return self.hash_ids[np.repeat(starts, lengths) + rank], offsets

    def book(self, row: int, zone: int) -> int:
        """Request ``row`` is admitted to ``zone``: its prefix hit there in blocks (0 on a
        zone without a cache), then its blocks are cached."""
        slot = int(self.slot[zone])
        if slot < 0 or self.fleet is None:
            return 0
        hashes, _ = self.blocks(np.array([row]))
        return self.fleet.insert(slot, hashes)

    def post(self, t: float, ledger: Ledger, active: np.ndarray) -> None:
        """Post the KV blocks the requests in service at ``t`` hold (prompt and output, from
        their start: an upper bound of what decoding has written so far)."""
        if not self.enabled:
            return
        L = ledger
        a = active[(L.start[active] <= t) & (L.end[active] > t)]
        zone = L.zone[a].astype(np.intp)
        tokens = L.input_tokens[a].astype(np.int64) + L.output_tokens[a]
        blocks = -(-tokens // self.block_tokens[zone])
        self.kv_used[:] = np.bincount(zone, weights=blocks, minlength=len(self.kv_used))
        self.kv_used /= self.cache_blocks
        self.kv_board.post(t)

    def view(self, rows: np.ndarray) -> PrefixView | None:
        """The prefix state routers read for the step's ``rows``."""
        if self.fleet is None:
            return None
        hashes, offsets = self.blocks(rows)
        m, Z = len(rows), len(self.models)
        matched = np.zeros((m, Z), dtype=np.int64)
        matched[:, self.llm_zones] = self.fleet.matched(hashes, offsets)
        lengths = np.diff(offsets)
        head = np.full((m, HEAD_BLOCKS), -1, dtype=np.int64)  # the leading blocks' hashes
        for j in range(HEAD_BLOCKS):  # a loop over block positions, not requests
            has = lengths > j
            head[has, j] = hashes[offsets[:-1][has] + j]
        return PrefixView(
            matched=matched,
            blocks=lengths,
            head=head,
            kv_utilisation=self.kv_board.occupancy,
        )
