"""Every project error survives pickling, as it must to come back from a sweep worker."""

from __future__ import annotations

import pickle

import pytest

from arena.errors import ConservationError, ScenarioError
from capabilities.errors import (
    CapabilityNotFound,
    CircuitOpen,
    CompositionError,
    ContractError,
    ExecutionTimeout,
    PermissionDenied,
    StepFailed,
    WorkflowError,
)

ERRORS = [
    ScenarioError("unit.yaml", "zones[2].capacity", "must be > 0"),
    ConservationError("step 4: conservation broken"),
    CapabilityNotFound("acount_balance", ["account_balance"]),
    ContractError("greet", "name", "missing required input"),
    PermissionDenied("delete_file", "files:write", "alice"),
    CircuitOpen("flaky", 2.5),
    ExecutionTimeout("slow", 0.5),
    WorkflowError("onboard", "name", "unknown step", step="assess", path="steps[1]"),
    StepFailed("onboard", "assess_risk", ValueError("boom")),
    CompositionError({"report": ("sales_table",)}, "no capability provides sales_table"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_comes_back_from_pickle_with_its_message_and_fields(error):
    error.add_note("in sweep run seed=1")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.__notes__ == ["in sweep run seed=1"]
    fields = {k: v for k, v in vars(error).items() if k not in ("__notes__", "cause")}
    assert {k: getattr(back, k) for k in fields} == fields
