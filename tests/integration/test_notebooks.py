"""The notebooks run top to bottom headless (small size), and are committed without outputs."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from paths import NOTEBOOKS_DIR

NOTEBOOKS = NOTEBOOKS_DIR
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
FIGURES = {  # notebook -> figures it must show (plots are the point of the first three)
    "01_quickstart.ipynb": 3,
    "02_tune_physics.ipynb": 1,
    "03_batch_sweeps.ipynb": 3,
    "04_capability_engine.ipynb": 0,
    "05_load_and_stale_information.ipynb": 3,
    "06_capacity_planning.ipynb": 3,
    "07_real_traffic.ipynb": 5,
    "08_sim_vs_live.ipynb": 3,
    "09_llm_fleet.ipynb": 4,
}


def test_the_notebooks_are_there():
    assert [p.name for p in ALL] == list(FIGURES)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_committed_notebooks_carry_no_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    dirty = [
        i
        for i, cell in enumerate(book.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_notebook_runs_headless(path, monkeypatch):
    monkeypatch.setenv("PACKETFLOW_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError naming the cell and its traceback
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    logged = [o.text for o in outputs if o.output_type == "stream" and "Traceback" in o.text]
    assert not logged, f"{path.name} logged an exception: {logged[0][:2000]}"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= FIGURES[path.name], f"{path.name} drew {len(images)} figures"
