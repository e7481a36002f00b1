"""A zone worker's admission (slots, bounded FIFO queue, drops), its keyed service draws and
the live kill spec's parsing, in this process (the engine and clock are the real ones)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import SCENARIOS_DIR

from arena.errors import ScenarioError
from arena.live import parse_kill
from arena.live.worker import Zone
from arena.live.zone_engine import ZoneEngine
from arena.scenario import load_scenario
from arena.workload import keyed_service_time

SCENARIO = load_scenario(str(SCENARIOS_DIR / "customer_support.yaml"))
ESCALATION = 2  # customer_support's zones: intake, technical_support, escalation


def call(rid: int) -> dict:
    return {
        "id": rid,
        "cap": "handle_security_incident",
        "text": "my card was stolen",
        "tin": 0,
        "tout": 0,
    }


async def test_slots_then_a_bounded_fifo_queue_then_drops():
    engine = ZoneEngine(SCENARIO, seed=7, zone=ESCALATION)
    zone = Zone(engine, capacity=2, queue_limit=2, speed=2000.0)  # 10 s mean -> ~5 ms
    answers = await asyncio.gather(*(zone.handle("POST", "/call", call(i)) for i in range(6)))
    by_id = {a["id"]: a for _, a in answers}
    assert [by_id[i]["outcome"] for i in range(6)] == ["ok"] * 4 + ["dropped"] * 2
    assert by_id[4]["reason"] == by_id[5]["reason"] == "queue_full"
    # the queued two started only when a slot freed, first come first served
    first_end = min(by_id[0]["end"], by_id[1]["end"])
    assert by_id[2]["start"] >= first_end - 1e-6 and by_id[2]["start"] <= by_id[3]["start"]
    assert zone.busy == 0 and not zone.waiting


def test_a_requests_service_time_is_keyed_by_seed_capability_and_id():
    engine = ZoneEngine(SCENARIO, seed=7, zone=ESCALATION)
    names = [c.name for c in SCENARIO.capabilities]
    cap = names.index("handle_security_incident")  # its stream: its place in the scenario
    model = SCENARIO.capabilities[cap].service_time
    for rid in (0, 5, 12345):
        a = engine.call("handle_security_incident", rid, "stolen card", (0, 0)).busy
        b = engine.call("handle_security_incident", rid, "stolen card", (0, 0)).busy
        assert a == b == pytest.approx(keyed_service_time(model, 7, cap, rid))
    draws = [engine.call("handle_security_incident", r, "x", (0, 0)).busy for r in range(400)]
    assert np.mean(draws) == pytest.approx(10.0, rel=0.2)  # the scenario's mean: 10 s


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_a_kill_spec_is_zone_at_time_or_a_one_line_error(text):
    try:
        zone, at = parse_kill(text, SCENARIO)
    except ScenarioError as exc:
        assert "--kill" in str(exc) and "\n" not in str(exc)
        return
    assert zone in {z.name for z in SCENARIO.zones} and np.isfinite(at) and at >= 0


async def test_an_overflow_probe_takes_an_idle_slot_or_is_answered_busy_at_once():
    zone = Zone(ZoneEngine(SCENARIO, seed=7, zone=ESCALATION), 1, 5, speed=2000.0)
    first = asyncio.ensure_future(zone.handle("POST", "/call", call(0)))
    await asyncio.sleep(0)  # the first request holds the only slot
    _, probe = await zone.handle("POST", "/call", call(1) | {"if_free": True})
    assert probe == {"id": 1, "outcome": "busy"} and not zone.waiting
    assert (await first)[1]["outcome"] == "ok"
    _, taken = await zone.handle("POST", "/call", call(2) | {"if_free": True})
    assert taken["outcome"] == "ok"


async def test_the_gateway_overflows_to_a_candidate_only_when_its_zone_is_full():
    from arena.live.gateway import Gateway
    from arena.live.http import serve
    from arena.live.routing import LiveRouting

    routing = LiveRouting(SCENARIO)
    gateway = Gateway(routing, t0=0.0, speed=1.0, batch_s=0.0)
    zones = [Zone(ZoneEngine(SCENARIO, 7, z), 1, 5, speed=2000.0) for z in range(3)]
    servers = [await serve(z.handle, "127.0.0.1", 0) for z in zones]
    try:
        for i, srv in enumerate(servers):
            port = srv.sockets[0].getsockname()[1]
            gateway.board({"zone": routing.zone_names[i], "port": port, "occupancy": 0, "queue": 0})
        cap = {z: int(routing.zone_caps[z][0]) for z in range(3)}
        # zone 2 idle: served there, no overflow
        z, _, answer = await gateway.forward(10, "my card was stolen", 2, cap[2], [(1, cap[1])])
        assert (z, answer["outcome"], answer.get("overflow")) == (2, "ok", None)
        # zone 2 full: the candidate with an idle slot serves it, marked as an overflow
        hold = asyncio.ensure_future(zones[2].handle("POST", "/call", call(11)))
        await asyncio.sleep(0)
        z, c, answer = await gateway.forward(12, "my card was stolen", 2, cap[2], [(1, cap[1])])
        assert (z, c, answer["outcome"], answer["overflow"]) == (1, cap[1], "ok", True)
        # no candidate: it queues at its own zone, as the simulation's admission does
        hold2 = asyncio.ensure_future(zones[2].handle("POST", "/call", call(13)))
        await asyncio.sleep(0)
        z, _, answer = await gateway.forward(14, "my card was stolen", 2, cap[2], [])
        assert z == 2 and answer["outcome"] == "ok" and answer["start"] > answer["reach"]
        await asyncio.gather(hold, hold2)
    finally:
        for srv in servers:
            srv.close()
        for pool in gateway.pools.values():
            pool.close()


async def test_a_delayed_board_shows_a_report_only_after_its_delay():
    from arena.live.gateway import Gateway
    from arena.live.routing import LiveRouting

    delayed = load_scenario(
        str(SCENARIOS_DIR / "customer_support.yaml"),
        overrides=["load_info.mode=delayed", "load_info.delay=2s"],
    )
    gateway = Gateway(LiveRouting(delayed), t0=0.0, speed=10.0, batch_s=0.0)  # 2 s -> 0.2 s
    seen = gateway.routing.seen_occupancy
    gateway.board({"zone": "escalation", "port": 1, "occupancy": 4, "queue": 0})
    assert seen[ESCALATION] == 0
    await asyncio.sleep(0.1)
    assert seen[ESCALATION] == 0
    await asyncio.sleep(0.2)
    assert seen[ESCALATION] == 4
