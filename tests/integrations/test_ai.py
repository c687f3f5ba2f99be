"""OpenAI through the real SDK against a loopback server: reading advice beside the
deterministic flags, and notification wording that never touches the amounts."""
import datetime as dt
import json
from decimal import Decimal

import pytest

from services.integrations.messages import TEMPLATES, MessageComposer, OpenAIPersonaliser, acceptable_rewrite, bill_values, render
from services.integrations.openai_advisor import OpenAIAdvisor, annotate_reading, make_openai_client
from services.accounts.roles import SYSTEM
from tests.factories import engineer_user
from tests.integrations.conftest import new_bill
from tests.integrations.fakeserver import Reply


def completion(content: str) -> Reply:
    return Reply(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": content}}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})


def whatsapp_text(report) -> str:
    return next(n.message for n in report.notifications if n.channel == "whatsapp")


def ai_config(server, timeout=5.0) -> dict:
    return {"openai_api_key": "sk-test-key", "openai_base_url": server.url + "/v1", "openai_model": "gpt-4o-mini",
            "openai_timeout": timeout}


def submit(svc, value, date):
    return svc.db.insert_meter_reading(meter_number="19152159", reading_value=value, reading_date=date,
                                       actor=engineer_user(svc.db.storage))


@pytest.fixture
def history(make_svc):
    """A meter with a steady history, then a spike the statistical check flags."""
    svc = make_svc()
    value = Decimal("1000")
    for month in range(4, 11):
        submit(svc, value, dt.date(2026, month, 20))
        value += 150
    return value


def test_advice_stored_beside_deterministic_flags(make_svc, server, history):
    server.script = [completion(json.dumps({"verdict": "suspicious", "confidence": 0.83,
                                            "reason": "Ten times the usual monthly use."}))]
    svc = make_svc(**ai_config(server))
    out = submit(svc, history + 1500, dt.date(2026, 11, 20))
    assert {f.code for f in out.flags} == {"outlier_high"}
    opinion = annotate_reading(svc, out.reading)
    assert opinion["verdict"] == "suspicious" and opinion["confidence"] == 0.83 and opinion["advice_only"]
    stored = svc.db.get_reading(out.reading.id)
    assert stored.ai_opinion == opinion
    assert stored.flags == out.reading.flags and stored.status == "pending"  # advice never gates
    (req,) = server.requests
    assert req.path == "/v1/chat/completions" and req.headers["authorization"] == "Bearer sk-test-key"
    body = req.json()
    assert body["model"] == "gpt-4o-mini" and body["response_format"] == {"type": "json_object"}
    facts = json.loads(body["messages"][1]["content"])
    assert Decimal(facts["new_reading"]["value_kwh"]) == history + 1500
    assert facts["statistical_flags"][0]["code"] == "outlier_high" and len(facts["history_newest_first"]) == 7
    assert "Test Owner" not in body["messages"][1]["content"]  # only numbers and dates go to the model


def test_model_timeout_keeps_deterministic_result(make_svc, server, history):
    server.default = completion('{"verdict": "plausible", "confidence": 1, "reason": "late"}')
    server.default.delay = 1.0
    svc = make_svc(**ai_config(server, timeout=0.2))
    out = submit(svc, history + 1500, dt.date(2026, 11, 20))
    assert annotate_reading(svc, out.reading) is None
    stored = svc.db.get_reading(out.reading.id)
    assert stored.ai_opinion is None and [f["code"] for f in stored.flags] == ["outlier_high"]
    assert len(server.requests) == 1  # the SDK does not retry (max_retries=0)


@pytest.mark.parametrize("answer", [
    "not json at all",
    json.dumps({"verdict": "approve it", "confidence": 0.9, "reason": "x"}),
    json.dumps({"verdict": "plausible", "confidence": "very", "reason": "x"}),
])
def test_unusable_answer_gives_no_opinion(server, answer):
    server.script = [completion(answer)]
    advisor = OpenAIAdvisor(make_openai_client("k", server.url + "/v1", 5), "m")
    from services.models import Reading

    r = Reading(1, 1, Decimal("10"), dt.date(2026, 11, 1), "pending")
    assert advisor.advise(r, [], []) is None


def test_http_error_gives_no_opinion(server):
    server.default = Reply(500, {"error": {"message": "boom", "type": "server_error"}})
    advisor = OpenAIAdvisor(make_openai_client("k", server.url + "/v1", 5), "m")
    from services.models import Reading

    assert advisor.advise(Reading(1, 1, Decimal("10"), dt.date(2026, 11, 1), "pending"), [], []) is None


def test_no_advisor_configured_changes_nothing(make_svc, history):
    svc = make_svc()
    out = submit(svc, history + 150, dt.date(2026, 11, 20))
    assert annotate_reading(svc, out.reading) is None and svc.db.get_reading(out.reading.id).ai_opinion is None


def test_personalised_wording_keeps_exact_amounts(make_svc, server):
    rewritten = ("Dear {owner}, the {period} electricity bill for flat {flat} is here: {units} kWh, {amount}, "
                 "payable by {due}.{arrears} {pay}")
    server.script = [completion(rewritten)]
    svc = make_svc(**ai_config(server))
    bill = new_bill(svc)
    report = svc.events.bill_created(bill, SYSTEM)
    text = whatsapp_text(report)
    assert text.startswith("Dear Test Owner, the 1 Oct 2026 to 31 Oct 2026 electricity bill for flat B17-FF")
    assert "₹3,394.00" in text and "160.00 kWh" in text
    prompt = server.requests[0].json()["messages"][1]["content"]
    assert "{amount}" in prompt and "3,394" not in prompt and "Test Owner" not in prompt  # values never sent
    other = svc.events.bill_created(new_bill(svc, code="A1-GF"), SYSTEM)  # same situation, another flat
    assert whatsapp_text(other).startswith("Dear Asha Rao,")
    assert len(server.requests) == 1  # the reworded template is reused
    svc.events.bill_created(new_bill(svc, start="2026-11-01", end="2026-11-30", due="2026-12-15"), SYSTEM)
    assert len(server.requests) == 2  # with arrears it is another situation: asked once more


def test_model_timeout_falls_back_to_template(make_svc, server):
    server.default = completion("Hi {owner}")
    server.default.delay = 1.0
    svc = make_svc(**ai_config(server, timeout=0.2))
    bill = new_bill(svc)
    report = svc.events.bill_created(bill, SYSTEM)
    expected = render(TEMPLATES["bill_created"], bill_values(bill, None))
    assert whatsapp_text(report) == expected
    assert any("template used" in m for m in report.messages)
    svc.events.bill_overdue(bill)
    assert len(server.requests) == 1  # paused after the failure: later messages do not wait on the model


@pytest.mark.parametrize("rewritten", [
    "Dear {owner}, pay {amount} for flat {flat}.",                                   # dropped placeholders
    "Dear {owner}, {flat} {period} {units} {amount} {due}{arrears} {pay} within 7 days",  # invented a number
    "Dear {owner.__class__} {flat} {period} {units} {amount} {due}{arrears} {pay}",  # not a plain placeholder
    "",
])
def test_bad_rewrites_refused(rewritten):
    assert not acceptable_rewrite(TEMPLATES["bill_created"], rewritten)


def test_composer_without_model_and_exact_formatting(make_svc):
    svc = make_svc()
    bill = new_bill(svc, flat_units="1234.56", motor_units=0)
    text = MessageComposer().compose("bill_created", bill_values(bill, "https://p/x")).text
    # 1234.56 x 12 + 1474 = 16288.72, formatted from the Decimal with no float in between
    assert "1,234.56 kWh" in text and "₹16,288.72" in text and text.endswith("Pay online: https://p/x")


def test_personaliser_request(server):
    server.script = [completion('"Hello {owner}"')]
    p = OpenAIPersonaliser(make_openai_client("k", server.url + "/v1", 5), "gpt-test")
    assert p.rewrite("reminder", "Hi {owner}", {"has_payment_link": True}) == "Hello {owner}"
    body = server.requests[0].json()
    assert body["model"] == "gpt-test" and "has payment link" in body["messages"][1]["content"]
