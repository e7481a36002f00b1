"""Real-time runs against the old step-based arena on the same arrivals (issue #20's speed goals).

- The Azure LLM conversation hour (19,366 requests) replayed at a 10 ms tick;
- a synthetic day of about 1M Poisson requests (1 s tick: events keep their exact times, the
  tick only batches routing decisions).

Both on ten zones with the baseline ``semantic_argmax`` router and with the physics, warm
(the model built before the clock starts). The baseline is the arena as it was before #20
(commit ``BASELINE``), fed the same arrivals per second as a schedule, run in a subprocess
from ``git archive`` of that commit; where git or the commit is missing it is skipped, said so.

    python -m benchmarks.bench_realtime --full     # the hour and the day (minutes)
    python -m benchmarks.bench_realtime            # the hour; --quick: 2 minutes of it, no baseline
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from arena.model import ArenaModel
from arena.scenario import parse_scenario
from arena.workload import read_trace
from benchmarks.timing import add_size_options, by_size

ROOT = Path(__file__).resolve().parents[1]
AZURE = ROOT.parent / "shared" / "data" / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"
BASELINE = "d4c488e"  # main before the real-time rebuild
ZONES = 10


class TopicEmbedder:
    """'topic 3' -> the one-hot vector of 3: routing by meaning without a model to load (the
    same class runs in the baseline's subprocess: its source is sent along)."""

    name = "topic-one-hot"
    dim = 16

    def encode(self, texts, **_):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, int(t.split()[-1]) % self.dim] = 1.0
        return out


def scenario_data(duration: float, tick: str, router: str, arrivals: dict) -> dict:
    return {
        "name": "realtime_bench",
        "seed": 1,
        "duration": duration,
        "clock": {"tick": tick},
        "capabilities": [
            {
                "name": f"svc{i}",
                "intent": f"topic {i}",
                "service_time": {"distribution": "exponential", "mean": 1.0},
            }
            for i in range(ZONES)
        ],
        "zones": [
            {
                "name": f"z{i}",
                "capacity": 4,
                "queue_limit": 1000,
                "radius": 5,
                "capabilities": [f"svc{i}"],
            }
            for i in range(ZONES)
        ],
        "arrivals": {"texts": [f"topic {i}" for i in range(ZONES)], "repeat": True, **arrivals},
        "router": router,
    }


def run_new(data: dict) -> dict:
    model = ArenaModel(parse_scenario(data), embedder=TopicEmbedder())
    cpu, wall = time.process_time(), time.perf_counter()
    model.run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    s = model.summary()
    return {"arrived": s.arrived, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "lost": s.lost}


OLD_RUN = (
    "import numpy as np\n"
    + inspect.getsource(TopicEmbedder)
    + """
import json, sys, time
from arena.model import ArenaModel
from arena.scenario import parse_scenario
data = json.load(open(sys.argv[1]))
model = ArenaModel(parse_scenario(data), embedder=TopicEmbedder())
cpu, wall = time.process_time(), time.perf_counter()
model.run()
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
s = model.summary()
print(json.dumps({"arrived": s.arrived, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                  "lost": s.lost}))
"""
)


def old_tree() -> Path | None:
    """The arena at ``BASELINE`` in a temporary folder (None without git or the commit)."""
    folder = Path(tempfile.mkdtemp(prefix="pf-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BASELINE, "arena", "capabilities"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return folder


def run_old(tree: Path, per_second: np.ndarray, router: str) -> dict:
    """The old model on the same arrivals: each second's count as a constant-rate schedule."""
    steps = len(per_second)
    changes = np.flatnonzero(np.diff(per_second, prepend=-1))
    data = scenario_data(0, "1s", router, {})
    del data["duration"], data["clock"]
    data["steps"] = int(steps)
    data["capabilities"] = [
        {**c, "service_time": {"distribution": "exponential", "mean": 1}}
        for c in data["capabilities"]
    ]
    data["arrivals"].update(
        process="constant",
        schedule=[[int(s + 1), float(per_second[s])] for s in changes],  # steps count from 1
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", OLD_RUN, f.name], env=env, capture_output=True, text=True
    )
    Path(f.name).unlink()
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1][:120]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(ap, "the hour and a 1M-request day (the default: the hour)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the old step-based runs")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args(argv)
    no_baseline = args.no_baseline or args.quick  # quick: a smoke run of the new model only
    tree = None if no_baseline else old_tree()
    if tree is None and not no_baseline:
        print(f"baseline skipped: commit {BASELINE} is not in this clone's git history")
    hour = by_size(args, 120.0, 3600.0, 3600.0)
    trace = read_trace(AZURE, "azure_llm", file=None, field="trace")
    times = trace.times[trace.times < hour]
    cases = [("azure hour" if not args.quick else "azure 2 min", hour, "10ms", times)]
    if args.full:
        rng = np.random.default_rng(7)
        day = 86_400.0
        n = rng.poisson(1_000_000)
        cases.append(("synthetic day", day, "1s", np.sort(rng.uniform(0, day, n))))
    rows = []
    for name, duration, tick, t in cases:
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write("time\n" + "\n".join(f"{x:.6f}" for x in t) + "\n")
        arrivals = {"trace": {"file": f.name, "format": "csv"}}
        per_second = np.bincount(t.astype(np.int64), minlength=int(duration))
        for router in ("semantic_argmax", "physics"):
            new = run_new(scenario_data(duration, tick, router, arrivals))
            old = run_old(tree, per_second, router) if tree is not None else None
            row = {"case": name, "tick": tick, "router": router, "new": new, "old": old}
            ratio = ""
            if old and "cpu_s" in old and new["cpu_s"]:
                row["old_over_new_cpu"] = round(old["cpu_s"] / new["cpu_s"], 2)
                ratio = f"  old/new CPU {row['old_over_new_cpu']}x (old {old['cpu_s']} s)"
            elif old:
                ratio = f"  old: {old.get('error')}"
            print(
                f"{name:<14} tick {tick:<5} {router:<16} {new['arrived']:>8} requests  "
                f"CPU {new['cpu_s']:>7.2f} s  wall {new['wall_s']:>7.2f} s{ratio}",
                flush=True,
            )
            rows.append(row)
        Path(f.name).unlink()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    figures: dict[str, float] = {}
    for r in rows:
        key = f"{r['case'].replace(' ', '_')}_{r['router']}"
        figures[f"{key}_cpu_s"] = r["new"]["cpu_s"]
        if "old_over_new_cpu" in r:
            figures[f"{key}_old_over_new"] = r["old_over_new_cpu"]
    return figures


if __name__ == "__main__":
    main()
