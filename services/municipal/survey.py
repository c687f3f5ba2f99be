"""Importing the field survey of consumer units (seed 003's `survey_units`, issue 14). Pure: no
database, no UI.

A survey file (CSV or xlsx) has one row per unit with seed 003's column names (SURVEY_COLUMNS).
`read_survey` turns the file into rows of text; `validate_survey` checks every row and either
returns the units (SurveyUnit) or raises MasterDataError listing every problem by row and column
(bad GPS, unknown category or unit type, duplicate survey id, a mobile number that is not a
Pakistani mobile, an unknown city or union council): all or nothing. `plan_survey` compares the
units with what is stored (SurveyState, read by the storage) and says what to insert, what to
update and which billing name / mobile / address changes go to the unit's history.

The survey's own words are kept on account_surveys (unit_type, size_category); the account's
category and account_type are the plan's tariff class derived from them
(services/seeding/municipal.py: tariff_class), as the month run prices by them.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation

from services.demo import municipal as m
from services.errors import MasterDataError, RowProblem
from services.models import Record

# Seed 003's survey_units columns, in its order. Required ones must be present and non-empty.
SURVEY_COLUMNS = (
    "survey_id", "surveyor_name", "survey_timestamp", "city_district", "uc_name", "uc_type", "image_portal_url",
    "unit_specific_type", "survey_category", "survey_consumer_name", "billing_consumer_name", "survey_mobile",
    "billing_mobile", "survey_address", "billing_address", "house_type", "water_connection", "size_marla",
    "gps_lat", "gps_long", "gps_full_string", "is_active_portal",
)
REQUIRED = ("survey_id", "survey_timestamp", "city_district", "uc_name", "unit_specific_type", "survey_category",
            "billing_consumer_name")
SURVEY_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{2,31}")
MOBILE = re.compile(m.MOBILE_PATTERN)
# Pakistan's bounding box: a point outside it is a swapped or mistyped coordinate.
LAT_RANGE, LON_RANGE = (Decimal("23.5"), Decimal("37.2")), (Decimal("60.8"), Decimal("77.9"))
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "y", "1", "active", "t"}, {"false", "no", "n", "0", "inactive", "f"}
MAX_PROBLEMS = 500


@dataclass(frozen=True)
class SurveyUnit:
    """One validated row: the account (code = survey id) and its survey."""

    row: int
    code: str
    area_id: int
    category: str  # tariff class (plan words)
    account_type: str
    is_active: bool
    billing_name: str
    billing_mobile: str | None
    billing_address: str | None
    gps_lat: Decimal | None
    gps_lon: Decimal | None
    surveyor_name: str | None
    surveyed_at: dt.datetime
    survey_name: str | None
    survey_mobile: str | None
    survey_address: str | None
    house_type: str | None
    water_connection: str | None
    size_marla: Decimal | None
    photo_ref: str | None
    gps_text: str | None
    unit_type: str
    size_category: str

    @property
    def billable(self) -> bool:
        return self.unit_type not in m.EXEMPT_UNIT_TYPES

    @property
    def connects_from(self) -> dt.date:
        """A new unit is billed from the month it was surveyed in (as the seeding does)."""
        return self.surveyed_at.astimezone(m.ZONE).date().replace(day=1)


# ---- reading a file ---------------------------------------------------------------------------
def read_survey(data: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV or xlsx survey file as text, keyed by lower-cased header."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, filename)
    if name.endswith((".csv", ".txt")):
        text = data.decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise MasterDataError(filename, [RowProblem(0, None, "the file is empty; give a header row with "
                                                                 "survey_id, city_district, uc_name, ...")])
        return [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in reader]
    raise MasterDataError(filename, [RowProblem(0, None, "give a .csv or .xlsx file")])


def _read_xlsx(data: bytes, filename: str) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        ws = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise MasterDataError(filename, [RowProblem(0, None, f"not a readable xlsx workbook ({exc})")]) from None
    rows = ws.iter_rows(values_only=True)
    header = [str(h or "").strip().lower() for h in next(rows, ())]
    out = []
    for values in rows:
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        out.append({h: _cell_text(v) for h, v in zip(header, values) if h})
    return out


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


# ---- validating -------------------------------------------------------------------------------
def normalize_mobile(text: str) -> str | None:
    """A Pakistani mobile as E.164 (+923001234567), from 03001234567, 0300-1234567, 923001234567...;
    None when empty; ValueError when not a mobile number."""
    digits = re.sub(r"[\s\-()]", "", text or "")
    if not digits:
        return None
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0") and len(digits) == 11:
        digits = "+92" + digits[1:]
    elif digits.startswith("92") and len(digits) == 12:
        digits = "+" + digits
    if not MOBILE.fullmatch(digits):
        raise ValueError(text)
    return digits


def _choice(value: str, choices: tuple[str, ...]) -> str | None:
    return next((c for c in choices if c.lower() == value.strip().lower()), None)


def _when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("/", "-"))
    return value.replace(tzinfo=m.ZONE) if value.tzinfo is None else value


@dataclass(frozen=True)
class AreaIndex:
    """The union councils the importer may use, by (city name, UC name), lower-cased: (area id, UC type).
    Built from the areas the actor sees, so a UC outside a limited actor's scope is unknown."""

    ucs: dict[tuple[str, str], tuple[int, str | None]]

    @classmethod
    def of(cls, cities, ucs) -> "AreaIndex":
        city_names = {c.id: c.name for c in cities}
        return cls({(city_names[u.parent_id].strip().lower(), u.name.strip().lower()): (u.id, u.kind)
                    for u in ucs if u.parent_id in city_names})


def validate_survey(rows: list[dict[str, str]], areas: AreaIndex, source: str) -> list[SurveyUnit]:
    """Every row checked; the units, or MasterDataError with every problem (row 2 = the first data
    row, as a spreadsheet numbers it)."""
    problems: list[RowProblem] = []
    total = 0

    def bad(row: int, column: str | None, message: str) -> None:
        nonlocal total
        total += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(RowProblem(row, column, message))

    if not rows:
        raise MasterDataError(source, [RowProblem(0, None, "the file has no rows")])
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise MasterDataError(source, [RowProblem(1, c, f"column '{c}' is missing from the header; seed 003's "
                                                        f"survey columns are: {', '.join(SURVEY_COLUMNS)}")
                                       for c in missing])
    units, seen = [], {}
    for i, r in enumerate(rows, start=2):
        before = total
        for c in REQUIRED:
            if not r.get(c, "").strip():
                bad(i, c, f"'{c}' is empty; every unit needs it")
        sid = r.get("survey_id", "").strip().upper()
        if sid:
            if not SURVEY_ID.fullmatch(sid):
                bad(i, "survey_id", f"'{sid}' is not a survey id (3 to 32 letters, digits and dashes)")
            elif sid in seen:
                bad(i, "survey_id", f"survey id {sid} is already on row {seen[sid]}; each unit once")
            else:
                seen[sid] = i
        area = None
        city, uc = r.get("city_district", "").strip(), r.get("uc_name", "").strip()
        if city and uc:
            area = areas.ucs.get((city.lower(), uc.lower()))
            if area is None:
                bad(i, "uc_name", f"no union council '{uc}' in city/tehsil '{city}' (or not in your areas); use "
                                  "the names on the Accounts page")
        uc_type = r.get("uc_type", "").strip()
        if uc_type:
            if _choice(uc_type, m.UC_TYPES) is None:
                bad(i, "uc_type", f"'{uc_type}' is not a UC type; one of {', '.join(m.UC_TYPES)}")
            elif area and area[1] and _choice(uc_type, m.UC_TYPES) != _choice(area[1], m.UC_TYPES):
                bad(i, "uc_type", f"'{uc_type}' but union council '{uc}' is {area[1]}; fix the file")
        unit_type = _choice(r.get("unit_specific_type", ""), m.UNIT_TYPES)
        if r.get("unit_specific_type", "").strip() and unit_type is None:
            bad(i, "unit_specific_type", f"unknown unit type '{r['unit_specific_type']}'; one of "
                                         f"{', '.join(m.UNIT_TYPES)}")
        category = _choice(r.get("survey_category", ""), m.CATEGORIES)
        if r.get("survey_category", "").strip() and category is None:
            bad(i, "survey_category", f"unknown category '{r['survey_category']}'; one of {', '.join(m.CATEGORIES)}")
        mobiles = {}
        for c in ("survey_mobile", "billing_mobile"):
            try:
                mobiles[c] = normalize_mobile(r.get(c, ""))
            except ValueError:
                bad(i, c, f"'{r[c]}' is not a Pakistani mobile number; write it as 03001234567 or +923001234567")
        words = {}
        for c, choices in (("house_type", m.HOUSE_TYPES), ("water_connection", m.WATER_CONNECTIONS)):
            text = r.get(c, "").strip()
            words[c] = _choice(text, choices) if text else None
            if text and words[c] is None:
                bad(i, c, f"'{text}' is not one of {', '.join(choices)}")
        size = None
        if r.get("size_marla", "").strip():
            try:
                size = Decimal(r["size_marla"].strip())
                if not size.is_finite() or size < 0 or size > 100_000:
                    raise InvalidOperation
            except InvalidOperation:
                bad(i, "size_marla", f"'{r['size_marla']}' is not a size in marla (a number, 0 or more)")
                size = None
        elif unit_type == "House":
            bad(i, "size_marla", "a house needs its plot size in marla (its fee depends on it)")
        lat, lon = _gps(r, i, bad)
        surveyed_at = None
        if r.get("survey_timestamp", "").strip():
            try:
                surveyed_at = _when(r["survey_timestamp"])
            except ValueError:
                bad(i, "survey_timestamp", f"'{r['survey_timestamp']}' is not a date and time; write "
                                           "2026-03-14 10:32:00")
        active_text = r.get("is_active_portal", "").strip().lower()
        active = True
        if active_text:
            if active_text not in TRUE_WORDS | FALSE_WORDS:
                bad(i, "is_active_portal", f"'{active_text}' is not yes/no (true/false)")
            active = active_text in TRUE_WORDS
        for c, limit in (("image_portal_url", 512), ("billing_address", 255), ("survey_address", 255),
                         ("billing_consumer_name", 128), ("survey_consumer_name", 128), ("surveyor_name", 128),
                         ("gps_full_string", 128)):
            if len(r.get(c, "")) > limit:
                bad(i, c, f"longer than {limit} characters; shorten it")
        if total > before or area is None or unit_type is None or category is None or surveyed_at is None:
            continue
        from services.seeding.municipal import tariff_class  # the one mapping of survey words to plan words

        klass, kind = tariff_class(unit_type, category, size or Decimal(0),
                                   _choice(area[1] or "", m.UC_TYPES) or "Urban")
        units.append(SurveyUnit(
            row=i, code=sid, area_id=area[0], category=klass, account_type=kind, is_active=active,
            billing_name=r["billing_consumer_name"].strip(), billing_mobile=mobiles.get("billing_mobile"),
            billing_address=r.get("billing_address", "").strip() or None, gps_lat=lat, gps_lon=lon,
            surveyor_name=r.get("surveyor_name", "").strip() or None, surveyed_at=surveyed_at,
            survey_name=r.get("survey_consumer_name", "").strip() or None, survey_mobile=mobiles.get("survey_mobile"),
            survey_address=r.get("survey_address", "").strip() or None, house_type=words["house_type"],
            water_connection=words["water_connection"], size_marla=size,
            photo_ref=r.get("image_portal_url", "").strip() or None,
            gps_text=r.get("gps_full_string", "").strip() or None, unit_type=unit_type, size_category=category))
    if total:
        raise MasterDataError(source, problems, total)
    return units


def _gps(r: dict, row: int, bad) -> tuple[Decimal | None, Decimal | None]:
    lat_text, lon_text = r.get("gps_lat", "").strip(), r.get("gps_long", "").strip()
    if not lat_text and not lon_text:
        return None, None
    if not lat_text or not lon_text:
        bad(row, "gps_lat" if not lat_text else "gps_long", "give both gps_lat and gps_long, or neither")
        return None, None
    out = []
    for c, text, (lo, hi) in (("gps_lat", lat_text, LAT_RANGE), ("gps_long", lon_text, LON_RANGE)):
        try:
            v = Decimal(text)
            if not v.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            bad(row, c, f"'{text}' is not a number in degrees")
            out.append(None)
            continue
        if not lo <= v <= hi:
            bad(row, c, f"{v} is outside Pakistan ({lo} to {hi}); are latitude and longitude swapped?")
            out.append(None)
            continue
        out.append(v.quantize(Decimal("0.000001")))
    return out[0], out[1]


# ---- comparing with what is stored ------------------------------------------------------------
@dataclass
class SurveyState:
    """What is stored for the file's survey ids: code -> the stored values (ACCOUNT_FIELDS,
    CONTACT_FIELDS, SURVEY_FIELDS, plus account_id and contact_id)."""

    units: dict[str, dict] = field(default_factory=dict)


ACCOUNT_FIELDS = ("area_id", "category", "account_type", "is_active", "billing_name", "billing_address",
                  "gps_lat", "gps_lon")
CONTACT_FIELDS = ("billing_name", "billing_mobile", "billing_address")
SURVEY_FIELDS = ("surveyor_name", "surveyed_at", "survey_name", "survey_mobile", "survey_address", "house_type",
                 "water_connection", "size_marla", "photo_ref", "gps_text", "unit_type", "size_category")
HISTORY_FIELDS = ("billing_name", "billing_mobile", "billing_address")


@dataclass
class SurveyPlan:
    """What an import does: rows to insert, rows to update (full new values) and history entries.
    JSON-ready dicts (Decimals and datetimes are turned to text by the REST backend)."""

    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)  # {account_id, field, old_value, new_value}
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {"created": len(self.inserts), "updated": len(self.updates), "unchanged": self.unchanged,
                "history": len(self.history)}


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return a is not None and b is not None and Decimal(str(a)) == Decimal(str(b)) or (a is None and b is None)
        except InvalidOperation:
            return False
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b
    return (a or None) == (b or None) if not isinstance(a, bool) else a == b


def plan_survey(units: list[SurveyUnit], state: SurveyState, *, plan_id: int | None) -> SurveyPlan:
    """Insert the new units (with a sanitation connection to plan `plan_id` from their survey month
    when billable), update the changed ones, and record billing name / mobile / address changes."""
    out = SurveyPlan()
    for u in units:
        new = asdict(u)
        new.pop("row")
        stored = state.units.get(u.code)
        if stored is None:
            new["connect_plan_id"] = plan_id if u.billable and plan_id is not None else None
            new["connect_from"] = u.connects_from
            new["service"] = m.SERVICE
            out.inserts.append(new)
            continue
        changed = [f for f in dict.fromkeys(ACCOUNT_FIELDS + CONTACT_FIELDS + SURVEY_FIELDS)
                   if not _same(new[f], stored.get(f))]
        if not changed:
            out.unchanged += 1
            continue
        new["account_id"], new["contact_id"] = stored["account_id"], stored.get("contact_id")
        out.updates.append(new)
        for f in HISTORY_FIELDS:
            if f in changed:
                out.history.append({"account_id": stored["account_id"], "field": f,
                                    "old_value": stored.get(f), "new_value": new[f]})
    return out


# ---- what the unit page shows -----------------------------------------------------------------
@dataclass(frozen=True)
class AccountSurvey(Record):
    """A unit's stored survey (account_surveys)."""

    account_id: int
    survey_id: str
    surveyor_name: str | None = None
    surveyed_at: dt.datetime | None = None
    survey_name: str | None = None
    survey_mobile: str | None = None
    survey_address: str | None = None
    house_type: str | None = None
    water_connection: str | None = None
    size_marla: Decimal | None = None
    photo_ref: str | None = None
    gps_text: str | None = None
    unit_type: str | None = None
    size_category: str | None = None



@dataclass(frozen=True)
class AccountChange(Record):
    """One change of a unit's billing name, mobile or address (account_history)."""

    id: int
    account_id: int
    field: str
    old_value: str | None
    new_value: str | None
    source: str
    changed_by_name: str
    created_at: dt.datetime | None = None

