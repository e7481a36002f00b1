"""``validate`` and ``calibrate``: the simulation against a live deployment of the same scenario.

``validate`` simulates the scenario and runs it live (:func:`arena.live.run_live`) on the same
arrivals and seed — the same requests, each drawing the same service time when the same
capability serves it (keyed draws) — and compares them request table against request table
(:mod:`.validation`), writing ``validation.json`` and ``validation.png``. A ``load`` (share of
the fleet's capacity) picks the arrival scale at which the *simulated* fleet is that busy; the
live run gets the same scale. A ``kill`` (``ZONE@TIME``) kills that worker live and is the same
zone outage in the simulation (``outages``).

``calibrate`` measures, the way Vidur profiles before it simulates, what the deployment adds
that the scenario does not say: the time from the client to a zone (gateway, routing,
transport) and the time a request waits for a free slot to notice it (scheduling), at a light
load where nothing queues, and writes them into an overlay as ``network.base``. It also
reports how much longer a slot is held than the keyed service time (timer slack), which a
scenario cannot yet absorb, so it is reported rather than written back.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from ..model import ArenaModel, ArenaView, requests_frame
from ..scenario import Scenario, load_scenario
from .output import finite_json
from .validation import Validation, compare_requests, rate_scale_for_load

if TYPE_CHECKING:  # annotations only: the live rig loads on use
    from ..live import LiveResult

CALIBRATION_LOAD = 0.3  # light enough that a request rarely waits for a slot


@dataclass(frozen=True)
class ValidationRun:
    """A validation: the comparison, both request tables and where they were written."""

    validation: Validation
    sim: pd.DataFrame
    live: pd.DataFrame
    rate_scale: float
    out: Path


def _scenario(
    file: str, duration: float | None, overrides: Sequence[str], overlays: Sequence[Any]
) -> tuple[Scenario, list[str]]:
    sets = list(overrides) + ([f"duration={duration}"] if duration is not None else [])
    return load_scenario(file, overrides=sets, overlays=overlays), sets


def simulate_requests(
    scenario: Scenario, *, seed: int | None, router: str | None, rate_scale: float
) -> tuple[pd.DataFrame, float]:
    """The simulated run's request table and the time its arrivals last (seconds)."""
    model = ArenaModel(scenario, seed=seed, router=router, rate_scale=rate_scale)
    model.run()
    return requests_frame(ArenaView(model)), scenario.duration


def scale_for_load(
    scenario: Scenario, load: float, *, seed: int | None, router: str | None
) -> float:
    """The arrival scale at which the simulated fleet of ``scenario`` is ``load`` busy."""
    return rate_scale_for_load(
        lambda s: simulate_requests(scenario, seed=seed, router=router, rate_scale=s),
        sum(z.capacity for z in scenario.zones),
        load,
    )


def _simulated_and_live(
    file: str,
    simulated: Scenario,
    out: Path,
    *,
    speed: float,
    seed: int | None,
    router: str | None,
    scale: float,
    sets: Sequence[str],
    layers: Sequence[str],
    kill: str | None = None,
) -> tuple[pd.DataFrame, float, LiveResult]:
    """The same arrivals at ``scale``: the simulated request table and span, and the live run
    (in ``out/live``; its processes load ``file`` with ``sets`` and ``layers``)."""
    from ..live import run_live  # processes and HTTP only when comparing

    sim, span = simulate_requests(simulated, seed=seed, router=router, rate_scale=scale)
    live = run_live(
        file,
        out / "live",
        speed=speed,
        seed=seed,
        router=router,
        kill=kill,
        rate_scale=scale,
        overrides=sets,
        overlays=layers,
    )
    return sim, span, live


def validate(
    scenario: str | Path,
    out: str | Path,
    *,
    speed: float = 1.0,
    duration: float | None = None,
    seed: int | None = None,
    load: float | None = None,
    router: str | None = None,
    kill: str | None = None,
    overrides: Sequence[str] = (),
    overlays: Sequence[str | Path] = (),
    n_resamples: int = 999,
) -> ValidationRun:
    """Simulate and run live, compare, write ``validation.json`` and ``validation.png``."""
    from ..live import parse_kill

    file = str(scenario)
    layers = [str(o) for o in overlays]
    sc, sets = _scenario(file, duration, overrides, layers)
    killing = parse_kill(kill, sc)
    sim_sc = sc
    if killing is not None:  # the same failure, simulated
        outage = {"outages": [{"zone": killing[0], "at": killing[1]}]}
        sim_sc, _ = _scenario(file, duration, overrides, [*layers, outage])
    capacity = {z.name: z.capacity for z in sc.zones}
    scale = 1.0 if load is None else scale_for_load(sc, load, seed=seed, router=router)
    out = Path(out)
    sim, span, live = _simulated_and_live(
        file,
        sim_sc,
        out,
        speed=speed,
        seed=seed,
        router=router,
        scale=scale,
        sets=sets,
        layers=layers,
        kill=kill,
    )
    v = compare_requests(
        sim, live.table, capacity=capacity, duration_s=span, n_resamples=n_resamples
    )
    v.meta.update(
        scenario=sc.name,
        file=file,
        seed=sc.seed if seed is None else seed,
        router=router or sc.router,
        speed=speed,
        load=load,
        rate_scale=scale,
        kill=kill,
        requests={"sim": len(sim), "live": len(live.table)},
    )
    _write(out, v, sim, live.table)
    return ValidationRun(validation=v, sim=sim, live=live.table, rate_scale=scale, out=out)


def _write(out: Path, v: Validation, sim: pd.DataFrame, live: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    from .validation_plot import validation_figure

    out.mkdir(parents=True, exist_ok=True)
    (out / "sim").mkdir(exist_ok=True)
    write_atomic(out / "sim" / "requests.csv", sim.to_csv(index=False))
    text = json.dumps(finite_json(v.to_dict()), indent=2, allow_nan=False) + "\n"
    write_atomic(out / "validation.json", text)
    fig = validation_figure(sim, live, v, title=f"{v.meta.get('scenario', '')}: simulated vs live")
    with tempfile.NamedTemporaryFile(dir=out, suffix=".png", delete=False) as f:
        fig.savefig(f, dpi=110, format="png")
    plt.close(fig)
    os.replace(f.name, out / "validation.png")


def write_atomic(path: Path, text: str) -> None:
    """``text`` at ``path``, or the old file: never half a file (a temporary renamed over)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class Calibration:
    """What the deployment adds, in scenario seconds (medians over a light-load live run)."""

    network_s: float  # client -> gateway -> routing -> zone: becomes network.base
    scheduling_s: float  # reaching a free slot -> starting: added to network.base
    slot_slack_s: float  # a slot held beyond the keyed service time (reported only)
    requests: int
    overlay: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "network_s": self.network_s,
            "scheduling_s": self.scheduling_s,
            "slot_slack_s": self.slot_slack_s,
            "requests": self.requests,
            "overlay": str(self.overlay),
        }


def calibrate(
    scenario: str | Path,
    out: str | Path,
    *,
    speed: float = 1.0,
    duration: float | None = None,
    seed: int | None = None,
    router: str | None = None,
    overrides: Sequence[str] = (),
    overlays: Sequence[str | Path] = (),
) -> Calibration:
    """Run live at :data:`CALIBRATION_LOAD` and write ``calibration.yaml`` (an overlay)."""
    file = str(scenario)
    layers = [str(o) for o in overlays]
    sc, sets = _scenario(file, duration, overrides, layers)
    scale = scale_for_load(sc, CALIBRATION_LOAD, seed=seed, router=router)
    out = Path(out)
    sim, _, live = _simulated_and_live(
        file,
        sc,
        out,
        speed=speed,
        seed=seed,
        router=router,
        scale=scale,
        sets=sets,
        layers=layers,
    )
    figures = overheads(sim, live.table)
    network = figures["network_s"] + figures["scheduling_s"]
    base = sc.network.base + network
    overlay = {"network": {"base": f"{base * 1000:.4g}ms"}}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "calibration.yaml"
    header = (
        f"# packetflow-arena calibrate {file} --speed {speed:g}: measured live at "
        f"{CALIBRATION_LOAD:.0%} load, {int(figures['requests'])} requests\n"
        f"# network {figures['network_s'] * 1000:.3f} ms + scheduling "
        f"{figures['scheduling_s'] * 1000:.3f} ms (medians, scenario time) over the scenario's "
        f"{sc.network.base * 1000:g} ms; slot slack {figures['slot_slack_s'] * 1000:.3f} ms "
        "(reported, not written)\n"
    )
    write_atomic(path, header + yaml.safe_dump(overlay, sort_keys=False))
    result = Calibration(
        network_s=figures["network_s"],
        scheduling_s=figures["scheduling_s"],
        slot_slack_s=figures["slot_slack_s"],
        requests=int(figures["requests"]),
        overlay=path,
    )
    write_atomic(out / "calibration.json", json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def overheads(sim: pd.DataFrame, live: pd.DataFrame) -> Mapping[str, float]:
    """Medians, over requests served in both runs by the same capability, of what live adds:
    the delay to reach a zone, to start once there (with a free slot), and in a slot."""
    both = sim.merge(live, on="id", suffixes=("_sim", "_live"))
    same = both[
        (both["outcome_sim"] == "completed")
        & (both["outcome_live"] == "completed")
        & (both["capability_sim"] == both["capability_live"])
    ]
    if len(same) < 10:
        raise ValueError(
            f"calibrate: only {len(same)} requests were served by the same capability in both "
            "runs; run longer (--duration) to measure the overheads"
        )
    network = (same["queued_s_live"] - same["sent_s_live"]) - (
        same["queued_s_sim"] - same["sent_s_sim"]
    )
    free = same["started_s_sim"] <= same["queued_s_sim"] + 1e-12  # no wait in the simulation
    scheduling = (same["started_s_live"] - same["queued_s_live"])[free]
    slot = (same["finished_s_live"] - same["started_s_live"]) - (
        same["finished_s_sim"] - same["started_s_sim"]
    )
    return {
        "network_s": float(np.median(network)),
        "scheduling_s": float(np.median(scheduling)) if len(scheduling) else 0.0,
        "slot_slack_s": float(np.median(slot)),
        "requests": float(len(same)),
    }
