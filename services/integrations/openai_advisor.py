"""An LLM's opinion on a meter reading, stored beside the deterministic flags as advice.

The statistical check (services/readings/checks.py) always runs and alone decides the flags and
the review queue; the opinion is shown next to them and never approves or refuses anything. The
model sees only numbers and dates of this meter (no names, phones or flat codes). A timeout,
error or answer that does not parse gives None, and the deterministic result stands.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from services.models import Reading
from services.accounts.roles import SYSTEM, Actor

log = logging.getLogger(__name__)

VERDICTS = ("plausible", "suspicious", "unsure")


def make_openai_client(api_key: str, base_url: str | None, timeout: float):
    """The real SDK client: short timeout and no SDK retries, so a slow model never holds up a
    reading or a bill (the caller falls back instead)."""
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0)


class OpenAIAdvisor:
    name = "openai"

    SYSTEM = ("You review electricity meter readings for a utility. Given a meter's reading history and the "
              "statistical checks already run, say whether the new reading looks plausible. Answer with a JSON "
              'object only: {"verdict": "plausible" | "suspicious" | "unsure", "confidence": number from 0 to 1, '
              '"reason": one short sentence}. Your answer is advice for a human reviewer.')

    def __init__(self, client, model: str):
        self.client = client
        self.model = model

    def advise(self, reading: Reading, history: list[Reading], flags: list[dict]) -> dict | None:
        try:
            resp = self.client.chat.completions.create(
                model=self.model, response_format={"type": "json_object"},
                messages=[{"role": "system", "content": self.SYSTEM},
                          {"role": "user", "content": json.dumps(self._facts(reading, history, flags))}],
            )
            return self._parse((resp.choices[0].message.content or "") if resp.choices else "")
        except Exception as exc:  # timeout, connection, HTTP error, odd payload: advice is optional
            log.warning("reading advice unavailable: %s", exc.__class__.__name__)
            return None

    @staticmethod
    def _facts(reading: Reading, history: list[Reading], flags: list[dict]) -> dict:
        def row(r: Reading) -> dict:
            return {"date": r.reading_date.isoformat(), "value_kwh": str(r.reading_value),
                    "consumption_kwh": None if r.consumption is None else str(r.consumption)}

        return {"new_reading": row(reading),
                "history_newest_first": [row(h) for h in history[:12]],
                "statistical_flags": [{"code": f.get("code"), "reason": f.get("reason")} for f in flags or []]}

    def _parse(self, text: str) -> dict | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("verdict") not in VERDICTS:
            return None
        try:
            confidence = min(max(float(data.get("confidence", 0)), 0.0), 1.0)
        except (TypeError, ValueError):
            return None
        reason = str(data.get("reason") or "").strip()[:500]
        return {"verdict": data["verdict"], "confidence": round(confidence, 2), "reason": reason,
                "model": self.model, "advice_only": True,
                "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def annotate_reading(svc, reading: Reading, actor: Actor | None = None) -> dict | None:
    """Ask the configured advisor about a stored reading and store its opinion on it.

    Call after `db.insert_meter_reading` (UI and API). Returns the opinion, or None when no
    advisor is configured or the model failed; it never raises for a model problem and never
    changes the reading's flags or status."""
    advisor = svc.advisor
    if getattr(advisor, "name", "none") == "none" or reading is None:
        return None
    if reading.ai_opinion:  # a double tap returns the stored reading: do not ask twice
        return reading.ai_opinion
    history = svc.db.storage.meter_history(reading.meter_id, before=reading.reading_date, limit=12)
    opinion = advisor.advise(reading, history, list(reading.flags or []))
    if opinion is None:
        return None
    try:
        svc.db.storage.set_reading_ai_opinion(reading.id, opinion, actor or SYSTEM)
    except Exception:
        log.exception("could not store the AI opinion of reading %s", reading.id)
        return None
    return opinion
