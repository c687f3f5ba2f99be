"""A short schemathesis run over the API's own OpenAPI document: no request, valid or not, gets a 500.

Bounded (FUZZ_EXAMPLES per operation and mode, derandomized so CI runs repeat), authenticated with
the HEADER_AUTH_TOKEN from the environment, as an admin so every endpoint is reachable. Cases come
from schemathesis' strategies for each operation (positive: valid by the schema; negative: not).
"""
from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.api.conftest import TOKEN, WEBHOOK_SECRET, build_svc, make_bill, seed_previous_reading

FUZZ_EXAMPLES = 20
OPERATIONS = ["GET /health", "POST /webhook/meter-reading", "GET /webhook/meter-reading/test", "POST /webhook/stripe", "GET /api/bills/{bill_id}",
              "GET /api/bills/customer/{contact_id}", "PUT /api/bills/{bill_id}/status", "GET /api/bills/{bill_id}/pdf",
              "POST /api/bills/{bill_id}/send", "GET /documents/bill.pdf", "GET /api/scheduler/status",
              "POST /api/scheduler/jobs/{job_id}/run", "GET /api/usage/anomalies", "GET /api/usage/forecast/{customer_id}",
              "GET /api/usage/analytics/{customer_id}", "GET /api/customers/{customer_id}/usage",
              # issue 13: usage rows, the anticipated bill, the company API
              "POST /webhook/usage", "GET /api/customers/{customer_id}/forecast", "POST /api/auth/login",
              "GET /api/auth/me", "GET /api/customers", "GET /api/customers/{customer_id}", "GET /api/bills",
              "POST /api/bills/generate",
              # issue 15: visits and tickets
              "GET /api/visits", "GET /api/visits/{visit_id}", "POST /api/visits", "GET /api/tickets",
              "GET /api/tickets/{ticket_id}", "POST /api/tickets"]
NO_INPUTS = {"GET /health", "GET /api/scheduler/status", "GET /webhook/meter-reading/test", "GET /api/auth/me"}


@pytest.fixture
def api_schema(storage, society, today, tmp_path, monkeypatch):
    from services.api import create_app

    monkeypatch.setenv("HEADER_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HEADER_AUTH_ROLE", "admin")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    svc = build_svc(storage, today, tmp_path)
    seed_previous_reading(svc)
    make_bill(svc)
    make_bill(svc, month_start=dt.date(2026, 9, 1))
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(svc))


def test_every_operation_is_fuzzed(api_schema):
    assert sorted(r.ok().label for r in api_schema.get_all_operations()) == sorted(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_errors(api_schema, label, mode):
    if mode is GenerationMode.NEGATIVE and label in NO_INPUTS:
        pytest.skip("no parameters or body to make invalid")
    op = next(r.ok() for r in api_schema.get_all_operations() if r.ok().label == label)
    seen = []

    @given(case=op.as_strategy(mode))
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
        seen.append(response.status_code)
        assert response.status_code < 500, \
            f"{case.method} {case.formatted_path} {case.body!r} -> {response.status_code}: {response.text[:500]}"
        if response.status_code >= 400:
            body = response.json()
            assert body["error"] and body["message"], body

    run()
    assert seen  # cases were really sent
