"""Traces (issue #20): the real Azure and Mooncake logs read whole, window/speed/scale keep what
they promise, and every bad file is one line naming the field and the file's line."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from paths import REPO_ROOT

from arena.errors import ScenarioError
from arena.workload import Trace, parse_trace_spec, read_trace


def _shared_data() -> Path:
    # beside the main checkout (/work/main/../shared) or above a worktree (/work/wt/NAME/../..)
    for root in (REPO_ROOT.parent, REPO_ROOT.parent.parent):
        if (root / "shared" / "data").is_dir():
            return root / "shared" / "data"
    pytest.fail("shared/data (the Azure and Mooncake traces) not found beside the repo")


AZURE = "azure_llm_2023/AzureLLMInferenceTrace_conv.csv"
MOONCAKE = "mooncake/conversation_trace.jsonl"
WHERE = {"file": "s.yaml", "field": "arrivals.trace.file"}


def test_the_whole_azure_hour():
    trace = read_trace(_shared_data() / AZURE, "azure_llm", **WHERE)
    assert len(trace) == 19_366
    assert trace.times[0] == 0 and np.all(np.diff(trace.times) >= 0)
    assert 3400 < trace.duration < 3600  # 18:15:46 to ~19:14
    assert trace.mean_rate == pytest.approx(len(trace) / trace.duration)
    assert trace.input_tokens.dtype == np.int64 and trace.input_tokens[:2].tolist() == [374, 396]
    assert trace.output_tokens[:2].tolist() == [44, 109]
    # 2023-11-16 18:15:46.6805900 -> 18:15:50.9951690: 4.314579 s
    assert trace.times[1] == pytest.approx(4.314579, abs=1e-6)
    assert trace.hash_ids is None


def test_the_whole_mooncake_hour():
    trace = read_trace(_shared_data() / MOONCAKE, "mooncake", **WHERE)
    assert len(trace) == 12_031
    assert trace.duration == pytest.approx(3536.999)
    assert trace.input_tokens[0] == 6758 and trace.output_tokens[0] == 500
    assert trace.hashes(0).tolist() == list(range(14))
    assert trace.hashes(3).tolist() == [0, 42, 43, 44, 45]
    assert trace.hash_offsets[-1] == trace.hash_ids.size
    assert 300 < trace.output_tokens.mean() < 400  # the README: output ~343


def _trace(n=2000, seed=0, hashes=True) -> Trace:
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, 100, n))
    times -= times[0]
    lengths = rng.integers(0, 4, n)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    ids = np.arange(offsets[-1], dtype=np.int64)
    return Trace(
        times,
        np.arange(n, dtype=np.int64),
        np.arange(n, dtype=np.int64) * 2,
        ids if hashes else None,
        offsets if hashes else None,
    )


def test_window_is_a_rebased_slice_and_keeps_each_requests_data():
    trace = _trace()
    cut = trace.window(20.0, 50.0)
    inside = (trace.times >= 20) & (trace.times < 50)
    assert len(cut) == inside.sum() and cut.duration == 30.0
    np.testing.assert_allclose(cut.times, trace.times[inside] - 20)
    np.testing.assert_array_equal(cut.input_tokens, trace.input_tokens[inside])
    first = int(np.argmax(inside))
    assert cut.hashes(0).tolist() == trace.hashes(first).tolist()
    assert cut.hashes(len(cut) - 1).tolist() == trace.hashes(first + len(cut) - 1).tolist()


def test_speed_divides_times_and_multiplies_the_rate():
    trace = _trace()
    fast = trace.speed(2.0)
    np.testing.assert_allclose(fast.times, trace.times / 2)
    assert fast.mean_rate == pytest.approx(2 * trace.mean_rate)


@pytest.mark.parametrize("factor", [0.3, 1.0, 2.0, 2.5])
def test_scale_multiplies_the_traffic_keeping_tokens_with_requests(factor):
    trace = _trace(20_000)
    scaled = trace.scale(factor, np.random.default_rng(1))
    assert len(scaled) == pytest.approx(factor * len(trace), rel=0.03)
    assert np.all(np.diff(scaled.times) >= 0) and scaled.times.min() >= 0
    assert scaled.times.max() <= trace.duration
    # token pairs travel together: output = 2 * input in the source
    np.testing.assert_array_equal(scaled.output_tokens, 2 * scaled.input_tokens)
    i = len(scaled) // 2
    assert scaled.hashes(i).tolist() == trace.hashes(int(scaled.input_tokens[i])).tolist()


def test_scale_keeps_the_burst_structure():
    """A trace with a burst (10x the rate for 10 s): scaled 3x, the burst is still 10x its
    surroundings, where re-drawing the times as uniform would flatten it."""
    rng = np.random.default_rng(2)
    calm = rng.uniform(0, 100, 1000)
    burst = rng.uniform(40, 50, 1000)
    times = np.sort(np.concatenate([calm, burst]))
    trace = Trace(times - times[0])
    scaled = trace.scale(3.0, np.random.default_rng(3))
    counts, _ = np.histogram(scaled.times, bins=10, range=(0, 100))
    assert counts[4] > 8 * np.median(counts)
    again = trace.scale(3.0, np.random.default_rng(3))
    np.testing.assert_array_equal(again.times, scaled.times)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


AZURE_HEAD = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


@pytest.mark.parametrize(
    ("fmt", "body", "says"),
    [
        (
            "azure_llm",
            AZURE_HEAD + "2023-11-16 18:15:46.68,1,2\n2023-11-16 18:15:47,1,2\n"
            "2023-11-16 18:15:46.9,1,2\n",
            "s.yaml: arrivals.trace.file: line 4: TIMESTAMP goes backwards",
        ),
        ("azure_llm", AZURE_HEAD + "yesterday,1,2\n", "line 2: TIMESTAMP: expected a time like"),
        ("azure_llm", "TIMESTAMP,ContextTokens\n", "missing column 'GeneratedTokens' (the columns"),
        (
            "azure_llm",
            AZURE_HEAD + "2023-11-16 18:15:46,-1,2\n",
            "line 2: ContextTokens: expected a whole",
        ),
        (
            "azure_llm",
            AZURE_HEAD + "2023-11-16 18:15:46,1,2.5\n",
            "line 2: GeneratedTokens: expected a whole",
        ),
        (
            "azure_llm",
            AZURE_HEAD + "2023-11-16 18:15:46,1,x\n",
            "line 2: GeneratedTokens: expected a finite",
        ),
        ("azure_llm", AZURE_HEAD, "the trace has no requests"),
        (
            "csv",
            "time,input_tokens\n0,1\n1,nan\n",
            "line 3: input_tokens: expected a finite number",
        ),
        ("csv", "time\n0\n2\n1\n", "line 4: time goes backwards"),
        ("csv", "t\n0\n", "missing column 'time' (the columns are: t)"),
        (
            "mooncake",
            '{"timestamp": 0, "input_length": 1, "output_length": 2}\n{"timestamp": 5,\n',
            "line 2: not valid JSON",
        ),
        ("mooncake", '{"timestamp": 0, "input_length": 1}\n', "missing key 'output_length'"),
        (
            "mooncake",
            '{"timestamp": 9, "input_length": 1, "output_length": 2}\n\n'
            '{"timestamp": 3, "input_length": 1, "output_length": 2}\n',
            "line 3: timestamp goes backwards",
        ),
        (
            "mooncake",
            '{"timestamp": 0, "input_length": 1, "output_length": 2, "hash_ids": [1, -2]}\n',
            "line 1: hash_ids: expected non-negative integers",
        ),
        (
            "mooncake",
            '{"timestamp": 0, "input_length": 1, "output_length": 2, "hash_ids": "ab"}\n',
            "line 1: hash_ids: expected a list of integers",
        ),
        ("mooncake", "\n\n", "the trace has no requests"),
        ("mooncake", "[1, 2]\n", "expected one JSON object per line"),
    ],
)
def test_bad_trace_files_name_the_line(tmp_path, fmt, body, says):
    path = _write(tmp_path, "t.txt", body)
    with pytest.raises(ScenarioError) as err:
        read_trace(path, fmt, **WHERE)
    assert says in str(err.value)
    assert str(err.value).startswith("s.yaml: arrivals.trace.file: ")
    assert "\n" not in str(err.value)


def test_csv_trace_with_a_time_unit_and_without_tokens(tmp_path):
    path = _write(tmp_path, "t.csv", "time\n1000\n1500\n4000\n")
    trace = read_trace(path, "csv", **WHERE, time_unit="ms")
    np.testing.assert_allclose(trace.times, [0, 0.5, 3.0])
    assert not trace.has_tokens and len(trace) == 3


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="unknown trace format 'parquet'"):
        read_trace(tmp_path / "x", "parquet", **WHERE)
    for fmt in ("azure_llm", "mooncake", "csv"):
        with pytest.raises(ScenarioError, match="no such file"):
            read_trace(tmp_path / "x", fmt, **WHERE)


def test_trace_spec_is_checked_and_loads_in_order(tmp_path):
    _write(
        tmp_path,
        "t.csv",
        "time,input_tokens,output_tokens\n" + "".join(f"{i},{i},1\n" for i in range(100)),
    )
    spec = parse_trace_spec(
        {"file": "t.csv", "format": "csv", "window": ["10s", "1m"], "speed": 2, "scale": 1},
        file="s.yaml",
        base_dir=tmp_path,
    )
    assert spec.window == (10.0, 60.0) and spec.path == tmp_path / "t.csv"
    trace = spec.load(np.random.default_rng(0), file="s.yaml")
    assert len(trace) == 50 and trace.duration == 25.0
    assert trace.input_tokens[0] == 10 and trace.times[1] == 0.5


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"file": "t.csv"}, "arrivals.trace.format: is required"),
        (
            {"file": "t.csv", "format": "parquet"},
            "arrivals.trace.format: expected one of azure_llm",
        ),
        ({"file": "t.csv", "format": "csv", "speed": 0}, "arrivals.trace.speed: must be above 0"),
        (
            {"file": "t.csv", "format": "csv", "scale": float("nan")},
            "arrivals.trace.scale: must be",
        ),
        ({"file": "t.csv", "format": "csv", "window": ["40m", "10m"]}, "window: must end after"),
        ({"file": "t.csv", "format": "csv", "window": ["1m"]}, 'expected [start, end] like ["10m"'),
        (
            {"file": "t.csv", "format": "csv", "window": ["x", "1m"]},
            "window[0]: expected a duration",
        ),
        ({"file": "t.csv", "format": "csv", "speeed": 2}, "arrivals.trace.speeed: unknown key"),
        ({"file": 3, "format": "csv"}, "arrivals.trace.file: expected a file name"),
        ({"file": "t.csv", "format": "azure_llm", "time_unit": "ms"}, "only a csv trace"),
        ("t.csv", "arrivals.trace: expected a mapping"),
    ],
)
def test_bad_trace_specs_name_the_field(spec, says):
    with pytest.raises(ScenarioError) as err:
        parse_trace_spec(spec, file="s.yaml", base_dir=None)
    assert says in str(err.value)


def test_a_window_after_the_end_is_refused(tmp_path):
    _write(tmp_path, "t.csv", "time\n0\n10\n")
    spec = parse_trace_spec(
        {"file": "t.csv", "format": "csv", "window": ["1h", "2h"]}, file="s.yaml", base_dir=tmp_path
    )
    with pytest.raises(
        ScenarioError, match=r"arrivals\.trace\.window: starts after the trace ends"
    ):
        spec.load(np.random.default_rng(0), file="s.yaml")


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(
        st.text(alphabet='{}[]":,0123456789abcdefghijklmnopqrstuvwxyz_-. \n', max_size=80),
        max_size=5,
    ),
    st.sampled_from(["azure_llm", "mooncake", "csv"]),
)
def test_hostile_trace_files_raise_nothing_but_scenario_error(tmp_path_factory, lines, fmt):
    path = tmp_path_factory.mktemp("hostile") / "t"
    head = {"azure_llm": AZURE_HEAD, "csv": "time,input_tokens\n", "mooncake": ""}[fmt]
    path.write_text(head + "\n".join(lines))
    try:
        trace = read_trace(path, fmt, **WHERE)
    except ScenarioError as exc:
        assert "\n" not in str(exc)
    else:
        assert len(trace) > 0 and np.all(np.diff(trace.times) >= 0) and trace.times[0] == 0


@pytest.mark.parametrize(
    ("second", "says"),
    [
        ("7", "line 2: expected one JSON object per line"),
        (
            '{"timestamp": "x", "input_length": 1, "output_length": 1}',
            "line 2: timestamp: expected",
        ),
        (
            '{"timestamp": 5, "input_length": 1.5, "output_length": 1}',
            "line 2: input_length: expected",
        ),
        ('{"timestamp": 5, "input_length": 1}', "line 2: missing key 'output_length'"),
        (
            '{"timestamp": 5, "input_length": 1, "output_length": 1, "hash_ids": [[1]]}',
            "line 2: hash_ids",
        ),
    ],
)
def test_mooncake_second_line_is_named(tmp_path, second, says):
    first = '{"timestamp": 0, "input_length": 1, "output_length": 2, "hash_ids": [1]}'
    path = _write(tmp_path, "t.jsonl", f"{first}\n{second}\n")
    with pytest.raises(ScenarioError) as err:
        read_trace(path, "mooncake", **WHERE)
    assert says in str(err.value)
