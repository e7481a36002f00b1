"""Property tests (issue #14): hostile mutations of the shipped scenarios and of the command line.

Whatever is generated — NaN, infinities, huge or negative numbers, wrong types, deep nesting,
strings, broken encodings, truncated or duplicated text, unknown keys, deleted fields, in every
section — the outcome is "a PacketFlowError naming the file and field, in one line" or "a valid
run" (finite numbers, conservation, summary.json valid JSON). Never another exception, never a
hang: each example runs under a timer.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import signal
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import yaml
from arena_fixtures import base_data
from fakes import BagOfWordsEmbedder
from hypothesis import HealthCheck, given, settings
from paths import REPO_ROOT

from arena.errors import ScenarioError
from arena.model import ArenaModel
from arena.scenario import load_scenario
from capabilities import PacketFlowError

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same cases every run of the suite
)


class Hang(Exception):
    """An example ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _absolute(raw: dict, base: Path) -> dict:
    """The shipped scenario with its data paths made absolute (mutants live in a temp folder)."""
    raw = copy.deepcopy(raw)
    for holder in (
        raw.get("zones_from"),
        raw.get("examples", {}).get("source"),
        raw.get("arrivals", {}).get("source"),
    ):
        if isinstance(holder, dict) and "file" in holder:
            holder["file"] = str((base / holder["file"]).resolve())
    return raw


@functools.cache
def shipped() -> dict[str, dict]:
    out = {}
    for name in ("clinc150", "customer_support"):
        path = REPO_ROOT / "scenarios" / f"{name}.yaml"
        out[name] = _absolute(yaml.safe_load(path.read_text()), path.parent)
    return out


def small() -> dict:
    """The unit scenario with every section present (physics, attraction, space, schedule,
    faults, a policy) so mutations reach them all, yet cheap to run."""
    data = base_data(steps=3)
    data["physics"] = {"temperature": 0.05, "candidates": 2, "max_flight_steps": 20}
    data["attraction"] = {"kind": "cosine", "epochs": 5}
    data["arrivals"]["schedule"] = [[0, 2], [2, 3]]
    data["capabilities"][0]["faults"] = {"failure_rate": 0.2, "extra_steps": 1}
    data["capabilities"][0]["policy"] = {"retry": 2, "timeout": 3, "fallback": "travel_desk"}
    data["zones"][0]["position"] = [20, 20]
    return data


def paths_of(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a document (mappings and lists), the document itself excluded."""
    out = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        if isinstance(node, list) and key > 3:
            break  # the first few list items stand for the rest
        out.append((*prefix, key))
        out.extend(paths_of(value, (*prefix, key)))
    return out


def nest(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


HOSTILE = st.one_of(
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            1e300,
            -1e300,
            1e9,
            10**40,
            -(10**40),
            -1,
            0,
            -0.0,
            0.5,
            True,
            False,
            None,
            "",
            " ",
            "x",
            "1e300",
            ".nan",
            "{label",
            [],
            {},
            [1, 2],
            [math.nan, 1],
            {"a": 1},
            {"rate": math.nan},
        ]
    ),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.integers(min_value=1, max_value=120).map(nest),
)


# what a number in any section may be replaced with: the cases the issue saw get through
BAD_NUMBERS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, 10**40, 10**4000, -1, True, "7"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@st.composite
def mutated(draw, documents) -> dict:
    """A document with one to three mutations: a number made hostile (half the time, so every
    section's numbers are hit), or any value replaced, a key deleted or added."""
    name = draw(st.sampled_from(sorted(documents)))
    doc = copy.deepcopy(documents[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(doc)
        if not paths:
            break
        numbers = [p for p in paths if _is_number(_at(doc, p))]
        if numbers and draw(st.booleans()):
            path = draw(st.sampled_from(numbers))
            _at(doc, path[:-1])[path[-1]] = draw(BAD_NUMBERS)
            continue
        path = draw(st.sampled_from(paths))
        parent = _at(doc, path[:-1])
        kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["bogus", "rate", "file", "capacity"]))] = draw(HOSTILE)
        else:
            parent[path[-1]] = draw(HOSTILE)
    return doc


def _at(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if hasattr(value, "__dataclass_fields__"):
        return all(all_finite(getattr(value, f)) for f in value.__dataclass_fields__)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(all_finite(v) for v in value)
    return True


def outcome(path: Path) -> Any:
    """The scenario at ``path`` loaded (and its source read), or the one-line error."""
    try:
        with time_limit(20):
            sc = load_scenario(path)
            sc.load_source()
    except ScenarioError as exc:
        message = str(exc)
        assert exc.file == str(path) and message.startswith(str(path)), message
        assert "\n" not in message and len(message) < 1000, message
        return exc
    assert all_finite(sc), "accepted a scenario with a non-finite number"
    return sc


def dump(doc: Any, folder: Path) -> Path:
    path = Path(tempfile.mkstemp(suffix=".yaml", dir=folder)[1])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@SETTINGS
@given(doc=mutated(shipped()))
def test_mutated_shipped_scenarios_are_refused_in_one_line_or_load_sanely(folder, doc):
    outcome(dump(doc, folder))


@settings(SETTINGS, max_examples=50)
@given(doc=mutated({"small": small()}))
def test_mutated_small_scenarios_are_refused_or_run(folder, doc):
    result = outcome(dump(doc, folder))
    if isinstance(result, ScenarioError):
        return
    try:
        with time_limit(30):
            model = ArenaModel(result, embedder=BagOfWordsEmbedder())
            model.run(2)
    except PacketFlowError as exc:  # e.g. a zone hosting a capability it cannot call
        assert "\n" not in str(exc) and str(exc), str(exc)
        return
    from arena.analysis.output import summary_json

    assert model.lost() == 0
    json.loads(summary_json(model.summary()), parse_constant=_bare)


def _bare(name):
    raise AssertionError(f"bare {name} in summary.json")


# -- file-level mutations: encodings, truncation, duplicated lines, size ---------------------
@st.composite
def mangled_text(draw) -> bytes:
    name = draw(st.sampled_from(["clinc150", "customer_support"]))
    text = yaml.safe_dump(shipped()[name]).encode()
    kind = draw(st.sampled_from(["bytes", "truncate", "duplicate", "bom", "tabs", "nest"]))
    at = draw(st.integers(0, len(text)))
    if kind == "bytes":
        junk = draw(st.binary(min_size=1, max_size=8))
        return text[:at] + junk + text[at:]
    if kind == "truncate":
        return text[:at]
    if kind == "duplicate":
        lines = text.splitlines(keepends=True)
        i = draw(st.integers(0, len(lines) - 1))
        return b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if kind == "bom":
        return b"\xef\xbb\xbf" + text
    if kind == "tabs":
        return text.replace(b"  ", b"\t", draw(st.integers(1, 5)))
    depth = draw(st.integers(40, 5000))
    return text + b"extra: " + b"[" * depth + b"]" * depth + b"\n"


@settings(SETTINGS, max_examples=40)
@given(content=mangled_text())
def test_mangled_scenario_files_are_refused_in_one_line_or_load(folder, content):
    path = Path(tempfile.mkstemp(suffix=".yaml", dir=folder)[1])
    path.write_bytes(content)
    outcome(path)


# -- the command line ------------------------------------------------------------------------
NUMBER_TEXT = st.one_of(
    st.sampled_from(
        ["nan", "inf", "-inf", "-1", "0", "1", "3", "1.5", "", "abc", "1e300", "9" * 5000]
    ),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
SET_KEYS = ["arrivals.rate", "physics.temperature", "zones.0.capacity", "steps", "seed", "nope.x"]
SET_VALUES = st.one_of(
    st.sampled_from(
        [".nan", ".inf", "1e300", "[1", "{a: 1}", "-3", "2", "0.1", "", "'x'", "9" * 40]
    ),
    st.text(max_size=10).filter(lambda t: "\x00" not in t),
)


@st.composite
def cli_args(draw) -> list[str]:
    args = []
    for flag in ("--steps", "--seed", "--rate-scale"):
        if draw(st.booleans()):
            args += [flag, draw(NUMBER_TEXT)]
    for _ in range(draw(st.integers(0, 2))):
        args += ["--set", f"{draw(st.sampled_from(SET_KEYS))}={draw(SET_VALUES)}"]
    return args


@pytest.fixture(scope="module")
def tiny(folder):
    path = folder / "tiny.yaml"
    data = base_data(steps=3)
    path.write_text(yaml.safe_dump(data))
    return path


@settings(SETTINGS, max_examples=40)
@given(args=cli_args())
def test_generated_command_lines_fail_in_one_line_or_run(folder, tiny, capsys, monkeypatch, args):
    import arena.analysis.runner as runner
    from arena.ui.cli import main

    monkeypatch.setattr(
        runner, "ArenaModel", functools.partial(ArenaModel, embedder=BagOfWordsEmbedder())
    )
    out = Path(tempfile.mkdtemp(dir=folder))
    try:
        with time_limit(30):
            code = main(["run", str(tiny), "--quiet", "--out", str(out), *args])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    else:
        json.loads((out / "summary.json").read_text(), parse_constant=_bare)
