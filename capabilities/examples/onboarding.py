"""Customer onboarding capabilities: the seed's ``customer_onboarding_flow``, with real rules.

``scenarios/onboarding.yaml`` wires them into a workflow: validate the customer record; when it
has no errors, assess risk and analyse preferences in parallel and assemble an onboarding plan
from both; otherwise, ask the customer to correct the record. Each function is plain Python
(its signature is its contract), so the same rules can be tested without the engine.
"""

from __future__ import annotations

import re
from typing import TypedDict

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
SEGMENTS = ("individual", "small_business", "enterprise")
# Countries where regulators expect enhanced due diligence (illustrative list).
ENHANCED_DUE_DILIGENCE = {"IR", "KP", "MM", "SY", "YE"}
HIGH_RISK_INDUSTRIES = {"crypto", "gambling", "arms", "money_services"}
REGULATED_INDUSTRIES = {"banking", "healthcare", "insurance", "pharma"}
# Stated interests -> products, matched on keywords so free text works too.
PRODUCT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "analytics_suite": ("analytics", "dashboard", "report", "insight", "bi"),
    "payments_api": ("payment", "checkout", "invoice", "billing"),
    "data_warehouse": ("warehouse", "data lake", "etl", "storage"),
    "support_desk": ("support", "helpdesk", "ticket", "customer service"),
    "compliance_pack": ("compliance", "audit", "gdpr", "sox", "hipaa"),
    "mobile_sdk": ("mobile", "ios", "android", "app"),
}
CHANNELS = ("email", "phone", "chat")


class Validation(TypedDict):
    errors: list[str]
    customer_record: dict


class RiskAssessment(TypedDict):
    risk_score: float
    risk_level: str
    risk_factors: list[str]


class PreferenceAnalysis(TypedDict):
    preferences: dict
    recommended_products: list[str]


class OnboardingPlan(TypedDict):
    onboarding_plan: dict
    status: str


class CorrectionRequest(TypedDict):
    correction_request: dict
    status: str


def validate_customer(customer: dict) -> Validation:
    """Validate a new customer's record and normalise it for onboarding."""
    errors: list[str] = []
    name = str(customer.get("name", "")).strip()
    if not name:
        errors.append("name: must not be empty")
    email = str(customer.get("email", "")).strip().lower()
    if not EMAIL.match(email):
        errors.append(f"email: {email or '(missing)'} is not a valid address")
    country = str(customer.get("country", "")).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        errors.append("country: must be a two-letter ISO code such as 'DE'")
    segment = str(customer.get("segment", "individual")).strip().lower()
    if segment not in SEGMENTS:
        errors.append(f"segment: {segment!r} is not one of {list(SEGMENTS)}")
    employees = customer.get("employees", 1)
    if not isinstance(employees, int) or isinstance(employees, bool) or employees < 1:
        errors.append("employees: must be a whole number of at least 1")
        employees = 1
    if segment == "enterprise" and not customer.get("tax_id"):
        errors.append("tax_id: required for enterprise customers")
    interests = customer.get("interests", [])
    if isinstance(interests, str):
        interests = [interests]
    if not isinstance(interests, list) or not all(isinstance(i, str) for i in interests):
        errors.append("interests: must be a list of short texts")
        interests = []
    channel = str(customer.get("preferred_channel", "email")).strip().lower()
    if channel not in CHANNELS:
        errors.append(f"preferred_channel: {channel!r} is not one of {list(CHANNELS)}")
    record = {
        "name": name,
        "email": email,
        "country": country,
        "segment": segment,
        "employees": employees,
        "industry": str(customer.get("industry", "other")).strip().lower(),
        "tax_id": customer.get("tax_id"),
        "interests": [i.strip().lower() for i in interests if i.strip()],
        "preferred_channel": channel,
        "compliance_requirements": list(customer.get("compliance_requirements", [])),
    }
    return {"errors": errors, "customer_record": record}


def assess_risk(customer_record: dict) -> RiskAssessment:
    """Assess the compliance and credit risk of a validated customer from its record."""
    score = 0.1
    factors: list[str] = []
    if customer_record["country"] in ENHANCED_DUE_DILIGENCE:
        score += 0.5
        factors.append(f"country {customer_record['country']} needs enhanced due diligence")
    industry = customer_record["industry"]
    if industry in HIGH_RISK_INDUSTRIES:
        score += 0.3
        factors.append(f"high-risk industry: {industry}")
    elif industry in REGULATED_INDUSTRIES:
        score += 0.15
        factors.append(f"regulated industry: {industry}")
    if customer_record["segment"] != "individual" and not customer_record.get("tax_id"):
        score += 0.2
        factors.append("business without a tax id")
    if customer_record["employees"] >= 1000:
        score += 0.05
        factors.append("large organisation: many users to provision")
    score = round(min(score, 1.0), 2)
    level = "high" if score >= 0.6 else "medium" if score >= 0.3 else "low"
    return {"risk_score": score, "risk_level": level, "risk_factors": factors}


def analyse_preferences(customer_record: dict) -> PreferenceAnalysis:
    """Analyse a customer's stated interests and preferences to recommend products."""
    text = " ".join(customer_record["interests"])
    scores = {  # whole words (plurals too): "bi" must not match inside "billing"
        product: sum(len(re.findall(rf"\b{re.escape(k)}(?:s|es)?\b", text)) for k in keywords)
        for product, keywords in PRODUCT_KEYWORDS.items()
    }
    if customer_record["compliance_requirements"]:
        scores["compliance_pack"] += len(customer_record["compliance_requirements"])
    recommended = sorted((p for p, s in scores.items() if s > 0), key=lambda p: (-scores[p], p))
    return {
        "preferences": {
            "channel": customer_record["preferred_channel"],
            "interests": customer_record["interests"],
            "matched": {p: scores[p] for p in recommended},
        },
        "recommended_products": recommended or ["analytics_suite"],
    }


def create_onboarding_plan(
    customer_record: dict,
    risk_level: str,
    risk_factors: list[str],
    recommended_products: list[str],
    preferences: dict,
) -> OnboardingPlan:
    """Assemble an onboarding plan from the risk assessment and the product preferences."""
    kyc = {"low": "standard KYC", "medium": "extended KYC", "high": "enhanced due diligence"}
    tasks = [f"run {kyc[risk_level]} checks"]
    if risk_level == "high":
        tasks.append("escalate to compliance officer for approval")
    if customer_record["segment"] == "enterprise":
        tasks.append("assign a dedicated account manager")
        tasks.append(f"provision {customer_record['employees']} user seats with SSO")
    tasks += [f"set up {product}" for product in recommended_products]
    tasks.append(f"send welcome pack by {preferences['channel']}")
    status = "pending_approval" if risk_level == "high" else "ready"
    return {
        "onboarding_plan": {
            "customer": customer_record["name"],
            "risk_level": risk_level,
            "risk_factors": risk_factors,
            "products": recommended_products,
            "tasks": tasks,
        },
        "status": status,
    }


def request_correction(customer: dict, errors: list[str]) -> CorrectionRequest:
    """Ask the customer to correct the invalid fields of their onboarding record."""
    fields = sorted({e.split(":", 1)[0] for e in errors})
    contact = str(customer.get("email") or "").strip() or None
    return {
        "correction_request": {
            "to": contact,
            "fields": fields,
            "message": "Please correct the following before we can onboard you: "
            + "; ".join(errors),
        },
        "status": "needs_correction",
    }
