"""Where the tests find the repository and the shared data, wherever a test file sits.

Test files live at different depths (``tests/capabilities/runtime/...``), so
``Path(__file__).parents[n]`` would be wrong in some of them; every test asks this module.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO_ROOT / "tests"
SUPPORT_DIR = Path(__file__).resolve().parent
SCENARIOS_DIR = REPO_ROOT / "scenarios"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
CLINC150_DIR = REPO_ROOT.parent / "shared" / "data" / "clinc150"
