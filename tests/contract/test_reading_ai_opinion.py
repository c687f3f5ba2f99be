"""The model's advice is stored beside a reading's deterministic flags, never replacing them."""
import datetime as dt

import pytest

from services.errors import NotFoundError
from tests.factories import admin_user, engineer_user


def test_ai_opinion_stored_beside_flags(db, storage):
    out = db.insert_meter_reading(meter_number="19152159", reading_value="1000", reading_date=dt.date(2026, 11, 20),
                                  actor=engineer_user(storage))
    opinion = {"verdict": "suspicious", "confidence": 0.7, "reason": "first reading", "model": "m"}
    storage.set_reading_ai_opinion(out.reading.id, opinion, admin_user(storage))
    got = storage.get_reading(out.reading.id)
    assert got.ai_opinion == opinion
    assert got.flags == out.reading.flags and got.status == "pending"  # deterministic result untouched
    audit = storage.list_audit(action_prefix="reading.ai_opinion", entity_id=str(out.reading.id)).items
    assert len(audit) == 1 and audit[0].details["verdict"] == "suspicious"
    storage.set_reading_ai_opinion(out.reading.id, None, admin_user(storage))
    assert storage.get_reading(out.reading.id).ai_opinion is None


def test_ai_opinion_unknown_reading(storage):
    with pytest.raises(NotFoundError):
        storage.set_reading_ai_opinion(987654, {"verdict": "plausible"}, admin_user(storage))
