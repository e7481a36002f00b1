"""A plain script that runs a sweep on processes without an ``if __name__ == "__main__":``
guard fails with one clear error naming the fix (not ``BrokenProcessPool``); with the guard it
runs. Spawned workers import the script again: that is the case detected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BODY = """
import arena
from arena_fixtures import scenario
frame = arena.sweep(scenario(), {{"router": ["random"]}}, [1], backend="processes", workers=1,
                    embedder="fakes:BagOfWordsEmbedder", progress=False)
print("rows", len(frame))
"""


def run_script(tmp_path: Path, guarded: bool) -> subprocess.CompletedProcess:
    body = BODY.format()
    if guarded:
        body = 'if __name__ == "__main__":\n' + "".join(
            f"    {line}\n" for line in body.splitlines()
        )
    script = tmp_path / "study.py"
    script.write_text(body)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "support")]),
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize("guarded", [False, True])
def test_a_script_without_the_main_guard_gets_one_error_naming_the_fix(tmp_path, guarded):
    done = run_script(tmp_path, guarded)
    if guarded:
        assert done.returncode == 0, done.stderr[-2000:]
        assert "rows 1" in done.stdout
        return
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "SpawnGuardError" in last and 'if __name__ == "__main__":' in last, done.stderr[-3000:]
    assert "bootstrapping phase" not in done.stderr  # multiprocessing's own riddle is not shown
