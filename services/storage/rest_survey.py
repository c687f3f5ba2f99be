"""REST backend part: the municipal survey import and a unit's survey and history
(database/supabase/90_functions_survey.sql; services/storage/sql_survey.py is the SQL twin)."""
from __future__ import annotations

from decimal import Decimal

from services.municipal.survey import AccountChange, AccountSurvey, SurveyPlan, SurveyState
from services.storage.rest_client import actor_json, parse_ts

STATE_CHUNK = 5000


class RestSurveyPart:
    def survey_state(self, codes) -> SurveyState:
        st = SurveyState()
        codes = list(dict.fromkeys(codes))
        for i in range(0, len(codes), STATE_CHUNK):
            for r in self.rest.rpc("meterline_survey_state", {"p_codes": codes[i:i + STATE_CHUNK]},
                                   what="reading the stored survey", idempotent=True) or []:
                for k in ("gps_lat", "gps_lon", "size_marla"):
                    r[k] = None if r[k] is None else Decimal(r[k])
                r["surveyed_at"] = parse_ts(r["surveyed_at"])
                st.units[r["code"]] = r
        return st

    def apply_survey(self, plan: SurveyPlan, source: str, actor) -> dict[str, int]:
        body = {"inserts": plan.inserts, "updates": plan.updates, "history": [
            {**x, "old_value": None if x["old_value"] is None else str(x["old_value"]),
             "new_value": None if x["new_value"] is None else str(x["new_value"])} for x in plan.history],
            "counts": plan.counts()}
        out = self.rest.rpc("meterline_apply_survey", {"p_plan": body, "p_source": source, "p_actor": actor_json(actor)},
                            what=f"storing the survey {source}")
        return {k: int(v) for k, v in (out or plan.counts()).items()}

    def account_survey(self, account_id: int) -> AccountSurvey | None:
        rows, _ = self.rest.select("account_surveys", filters=[("eq", "account_id", account_id)], limit=1,
                                   what=f"reading the survey of account {account_id}")
        return AccountSurvey.from_row(rows[0]) if rows else None

    def list_account_history(self, account_id: int, limit: int = 50) -> list[AccountChange]:
        rows, _ = self.rest.select("account_history", filters=[("eq", "account_id", account_id)],
                                   order=(("created_at", True), ("id", True)), limit=limit,
                                   what=f"reading the history of account {account_id}")
        return [AccountChange.from_row(r) for r in rows]
