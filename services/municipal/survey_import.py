"""Importing a survey file (services/municipal/survey.py: the file, its checks and the plan) into the
database: read, check every row against the areas the actor sees, compare with what is stored and
store it all in one transaction, or nothing. `dry_run` says what would change and stores nothing."""
from __future__ import annotations

from dataclasses import dataclass, field

from services.accounts.roles import Permission, require
from services.municipal.survey import AreaIndex, SurveyPlan, plan_survey, read_survey, validate_survey

PLAN_CODE = "municipal-sanitation"  # the plan new billable units are connected to (data/tariffs/municipal.toml)


@dataclass
class SurveyImportSummary:
    source: str
    rows: int
    created: int
    updated: int
    unchanged: int
    history: int
    dry_run: bool
    plan: SurveyPlan = field(repr=False, default_factory=SurveyPlan)


def area_index(storage) -> AreaIndex:
    """Cities/tehsils (top areas) and their union councils, as the actor sees them."""
    areas = storage.list_areas()
    tops = [x for x in areas if x.parent_id is None]
    top_ids = {x.id for x in tops}
    return AreaIndex.of(tops, [x for x in areas if x.parent_id in top_ids])


def import_survey(storage, content: bytes, file_name: str, actor, *, dry_run: bool = False) -> SurveyImportSummary:
    """Check and store a survey file (CSV or xlsx) for `actor` (IMPORT_SURVEY) through `storage` (a
    DatabaseService's .storage: the actor's scoped view). Raises MasterDataError naming each bad row
    and column; then nothing is stored."""
    actor = require(actor, Permission.IMPORT_SURVEY)
    source = (file_name or "survey.csv").rsplit("/", 1)[-1][:200]
    rows = read_survey(content, source)
    units = validate_survey(rows, area_index(storage), source)
    stored_plan = storage.get_tariff_plan(code=PLAN_CODE)
    plan = plan_survey(units, storage.survey_state([u.code for u in units]),
                       plan_id=stored_plan.id if stored_plan else None)
    counts = plan.counts() if dry_run else storage.apply_survey(plan, f"survey import: {source}"[:64], actor)
    return SurveyImportSummary(source, len(rows), counts["created"], counts["updated"], counts["unchanged"],
                               counts["history"], dry_run, plan)
