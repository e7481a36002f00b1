"""Writing a run's results to a directory: summary.json, zone_load.csv and the two plots.

Atomically: the files are written into a temporary sibling folder which then takes the
output folder's place, so an interrupted run (Ctrl-C, a crash, a full disk) leaves the previous
run's outputs or the new ones, never a mix. Anything else already in the folder (files that are
not ours, sub-folders of other runs) is carried over into the new one. Ctrl-C during the swap
itself is held back until the swap is done. ``summary.json`` is always valid JSON: a
non-finite number is written as ``null`` and ``allow_nan=False`` guarantees no bare ``NaN``.

:func:`check_out_dir` is called before simulating, so a run whose ``--out`` is a file or an
unwritable place fails at once instead of after the whole simulation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capabilities import PacketFlowError

if TYPE_CHECKING:
    from ..model import ArenaModel, RunSummary

OUTPUT_FILES = ("summary.json", "zone_load.csv", "zone_load.png", "arena_snapshot.png")


class OutputError(PacketFlowError):
    """The output folder cannot be written (it is a file, or the place is not writable)."""


def check_out_dir(out_dir: str | Path) -> Path:
    """``out_dir`` as a Path, once it is clear the outputs can be written there: it is a folder
    or does not exist yet, and its parent folder (created if missing) is writable."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(_sibling(out, "probe"))
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write in {parent}: {exc.strerror or exc}") from None
    return out


def finite_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def summary_json(summary: RunSummary) -> str:
    return json.dumps(finite_json(summary.to_dict()), indent=2, allow_nan=False) + "\n"


def write_outputs(
    model: ArenaModel,
    out_dir: str | Path,
    summary: RunSummary | None = None,
    snapshot: Any = None,
) -> dict[str, Path]:
    """Write the standard result files; ``snapshot`` is a Figure captured mid-run (else now)."""
    import matplotlib.pyplot as plt

    from . import plots

    out = check_out_dir(out_dir)
    summary = summary if summary is not None else model.summary()
    tmp = _sibling(out, "new")
    try:
        (tmp / "summary.json").write_text(summary_json(summary), encoding="utf-8")
        frame = model.zone_load_frame()
        frame.to_csv(tmp / "zone_load.csv", index=False)
        caps = {z.name: z.capacity for z in model.zones}
        fig = plots.zone_load(
            frame, caps, title=f"{model.scenario.name} — zone load ({model.router.name} router)"
        )
        fig.savefig(tmp / "zone_load.png", dpi=110)
        plt.close(fig)
        fig = snapshot if snapshot is not None else plots.arena_snapshot(model)
        fig.savefig(tmp / "arena_snapshot.png", dpi=110)
        plt.close(fig)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {name: out / name for name in OUTPUT_FILES}


def _swap_into_place(new: Path, out: Path) -> None:
    """Make ``new`` the folder ``out``; the old folder's other entries move along with it."""
    with _interrupts_held():
        if not out.exists():
            os.rename(new, out)
            return
        for entry in out.iterdir():
            if entry.name not in OUTPUT_FILES:
                os.rename(entry, new / entry.name)
        old = _sibling(out, "old")
        os.rename(out, old / out.name)
        os.rename(new, out)
    shutil.rmtree(old, ignore_errors=True)


def _sibling(out: Path, role: str) -> Path:
    """A new empty folder beside ``out`` (same file system, so renames are atomic)."""
    path = out.absolute().parent / f".{out.name}.{role}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()  # the usual permissions (umask), unlike mkdtemp's 0700
    return path


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C arriving inside the block is raised when it ends (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if received:
        raise KeyboardInterrupt
