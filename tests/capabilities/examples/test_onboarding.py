"""The seed's customer_onboarding_flow, declared in scenarios/onboarding.yaml: both paths."""

from __future__ import annotations

import pytest
from fakes import BagOfWordsEmbedder
from paths import SCENARIOS_DIR

from capabilities import Context, Engine, Registry, load_workflows
from capabilities.examples.onboarding import assess_risk, validate_customer

SCENARIO = SCENARIOS_DIR / "onboarding.yaml"

GOOD = {
    "name": "Acme GmbH",
    "email": "ops@acme.example",
    "country": "de",
    "segment": "enterprise",
    "tax_id": "DE811907980",
    "employees": 2500,
    "industry": "banking",
    "interests": ["analytics dashboards", "invoice payments"],
    "compliance_requirements": ["gdpr"],
    "preferred_channel": "phone",
}


@pytest.fixture
def engine() -> Engine:
    registry = Registry(embedder=BagOfWordsEmbedder())
    load_workflows(SCENARIO, registry)
    return Engine(registry)


def test_valid_customer_gets_a_plan_from_parallel_risk_and_preferences(engine):
    result = engine.run("customer_onboarding_flow", {"customer": GOOD}, Context("onboarder"))
    assert result.status == "ok", result.error
    assert result.outputs["status"] == "ready"
    plan = result.outputs["outcome"]
    assert plan["customer"] == "Acme GmbH"
    assert plan["risk_level"] == "medium"  # regulated industry + large organisation
    assert set(plan["products"]) == {"analytics_suite", "payments_api", "compliance_pack"}
    assert "assign a dedicated account manager" in plan["tasks"]
    assert plan["tasks"][-1] == "send welcome pack by phone"
    spans = {s.name: s for s in result.trace.spans}
    assert "request_correction" not in spans
    parallel = spans["parallel"]
    assert spans["assess_risk"].parent_id == spans["analyse_preferences"].parent_id
    assert spans["assess_risk"].parent_id == parallel.span_id
    assert spans["branch[then]"].parent_id == result.span.span_id


def test_high_risk_customer_plan_waits_for_approval(engine):
    risky = {
        **GOOD,
        "country": "IR",
        "industry": "crypto",
        "tax_id": None,
        "segment": "small_business",
    }
    result = engine.run("customer_onboarding_flow", {"customer": risky})
    assert result.outputs["status"] == "pending_approval"
    assert "escalate to compliance officer for approval" in result.outputs["outcome"]["tasks"]


def test_invalid_customer_is_asked_to_correct_the_record(engine):
    bad = {**GOOD, "email": "not-an-address", "country": "Germany", "tax_id": ""}
    result = engine.run("customer_onboarding_flow", {"customer": bad})
    assert result.status == "ok", result.error
    assert result.outputs["status"] == "needs_correction"
    request = result.outputs["outcome"]
    assert request["fields"] == ["country", "email", "tax_id"]
    assert "not-an-address is not a valid address" in request["message"]
    names = {s.name for s in result.trace.spans}
    assert "branch[otherwise]" in names and "assess_risk" not in names


def test_rules_directly():
    out = validate_customer({"name": "Ann", "email": "ann@x.org", "country": "fr"})
    assert out["errors"] == []
    assert out["customer_record"]["country"] == "FR"
    assert assess_risk(out["customer_record"])["risk_level"] == "low"
    bad = validate_customer({"name": "Ann", "email": "ann@x.org", "country": "fr", "employees": 0})
    assert bad["errors"] == ["employees: must be a whole number of at least 1"]
