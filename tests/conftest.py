import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# -- CLINC150 (real data, read-only; ../shared/data/clinc150 beside the repo) ------------------
import json

import pytest
from paths import CLINC150_DIR


@pytest.fixture(scope="session")
def clinc150() -> dict:
    """The CLINC150 splits (train/val/oos_train/oos_val as [text, intent] rows) and ``domains``
    (domain -> its 15 intents), loaded once per session."""
    path = CLINC150_DIR / "data_train_val.json"
    if not path.exists():
        pytest.fail(f"CLINC150 data not found at {path}; it must sit beside the repo in shared/")
    data = json.loads(path.read_text())
    data["domains"] = json.loads((CLINC150_DIR / "domains.json").read_text())
    return data
