"""The repository keeps itself clean: notebooks reach git without outputs through nbstripout,
a standard clean filter that setup registers, not through people being careful."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import NOTEBOOKS_DIR, REPO_ROOT

NBSTRIPOUT = Path(sys.executable).with_name("nbstripout")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def test_gitattributes_puts_every_notebook_through_nbstripout():
    attributes = (REPO_ROOT / ".gitattributes").read_text().splitlines()
    assert "*.ipynb filter=nbstripout" in attributes


@pytest.mark.skipif(
    not NBSTRIPOUT.exists() or not shutil.which("git"), reason="needs nbstripout and git"
)
def test_a_notebook_with_outputs_is_committed_without_them(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(REPO_ROOT / ".gitattributes", repo / ".gitattributes")
    # what scripts/setup.sh runs in a clone
    subprocess.run(
        [str(NBSTRIPOUT), "--install", "--attributes", ".gitattributes"], cwd=repo, check=True
    )
    notebook = json.loads((NOTEBOOKS_DIR / "01_quickstart.ipynb").read_text())
    code = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["secret output\n"]}]
    code["execution_count"] = 7
    (repo / "nb.ipynb").write_text(json.dumps(notebook))
    _git(repo, "add", "nb.ipynb")
    staged = json.loads(_git(repo, "show", ":nb.ipynb"))
    cells = [c for c in staged["cells"] if c["cell_type"] == "code"]
    assert cells and all(not c["outputs"] and c["execution_count"] is None for c in cells)
    # the working copy keeps what the user saw
    assert "secret output" in (repo / "nb.ipynb").read_text()


def test_setup_registers_the_filter_in_this_clone():
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git clone")
    clean = subprocess.run(
        ["git", "config", "--get", "filter.nbstripout.clean"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert "nbstripout" in clean, "scripts/setup.sh did not register nbstripout as a git filter"
