"""Importing the master data spreadsheet (accounts, contacts, meters, motors) into any backend.

1. Read the file (services/master_data.read_table: capped, dimension-proof, formulas refused).
2. Check every field of every row before anything is written: each value on its own (formats,
   integer ranges, lengths that fit the columns of database/schema.py, no control characters,
   the pricing columns as the pricing service reads them), against the other rows, then against
   what the database holds (read in chunks of CHUNK rows, so 300,000 accounts never sit in one
   request). Every problem is reported with its row and column; if there is any, nothing is
   written.
3. Work out what changes, chunk by chunk (`plan`, pure), and store all of it with ONE call of
   Storage.apply_master_data: one transaction (SQL), or on Supabase the chunks staged and then
   applied by one /rpc call, in one transaction. Either every row is stored or none is.

A re-import updates what changed and duplicates nothing: accounts are matched by code, meters by
number, motors by code, an owner is the flat's primary owner. A flat whose meter number changed
gets the new meter; its other active meters become `replaced` (their readings stay). A flat whose
motor changed is moved to the new motor. What an empty database lacks is created: motors, and the
areas a flat sits in (its block, and the floor within the block when the floor's code is known:
STANDARD_FLOORS, or 4F, 12F ...). A new flat is connected to the society's electricity plan.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from services.errors import MasterDataError, RowProblem
from services.master_data.spreadsheet import (
    COLUMNS, MAX_PROBLEMS_KEPT, ReadLimits, normalize_flat_code, price_problems, read_table,
)
from services.accounts.roles import Actor, Permission, require

REQUIRED = ("flat_code", "block", "floor", "flat_type", "owner_name", "owner_phone", "meter_number")
MOTOR_COLUMNS = ("motor", "motor_meter_number")
CHUNK = 1000
FLAT_CODE = re.compile(r"^([A-Z]+)(\d+)-([A-Z0-9]+)$")  # B17-FF: block, number, floor
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")
WORD = re.compile(r"^[A-Z0-9]+$")
BHK = re.compile(r"^(\d+)BHK$")
PHONE_DIGITS = re.compile(r"[\s\-().]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_BHK = 20
# Lengths of the columns the values are stored in (database/schema.py; a test keeps them equal).
MAX_LEN = {"flat_code": 32, "block": 8, "floor": 8, "flat_type": 32, "owner_name": 128, "owner_phone": 20,
           "meter_number": 32, "motor": 32, "motor_meter_number": 32}
# Floors the import creates when the database lacks them; any other code must be added first.
STANDARD_FLOORS = {"GF": ("Ground Floor", 0), "FF": ("First Floor", 1), "SF": ("Second Floor", 2),
                   "TF": ("Third Floor", 3)}
NUMBERED_FLOOR = re.compile(r"^(\d{1,2})F$")  # 4F, 12F


def creatable_floor(code: str) -> tuple[str, int] | None:
    """(name, sort order) of a floor the import may create, or None."""
    if code in STANDARD_FLOORS:
        return STANDARD_FLOORS[code]
    m = NUMBERED_FLOOR.match(code)
    if m and int(m.group(1)) >= 4:
        n = int(m.group(1))
        return f"Floor {n}", n
    return None


@dataclass(frozen=True)
class MasterRow:
    row: int
    account_code: str
    block: str
    floor: str
    category: str
    contact_name: str
    contact_phone: str | None
    meter_number: str
    motor: str | None
    motor_meter_number: str | None


@dataclass
class MasterDataState:
    """What the database holds for one chunk of the file (Storage.master_data_state)."""

    # flat code -> {"id", "area_path", "category", "contact_id", "contact_name", "contact_phone"}
    accounts: dict[str, dict] = field(default_factory=dict)
    # meter number -> {"id", "account_code", "motor_code", "status"}
    meters: dict[str, dict] = field(default_factory=dict)
    # flat code -> [(meter id, meter number)] of its active meters
    flat_meters: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # motor code -> [(meter id, meter number)] of its active meters
    motor_meters: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # flat code -> motor codes it shares
    account_motors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class MasterDataChanges:
    """What one chunk changes, by natural keys (Storage.apply_master_data resolves the ids)."""

    areas: list[dict] = field(default_factory=list)           # {"path", "name", "sort_order"}: blocks, floors
    motors: list[dict] = field(default_factory=list)          # {"code", "name"}
    flats_new: list[dict] = field(default_factory=list)       # {"code", "area_path", "category"}
    flats_changed: list[dict] = field(default_factory=list)   # {"id", "area_path", "category"}
    owners_new: list[dict] = field(default_factory=list)      # {"account_code", "name", "phone"}
    owners_changed: list[dict] = field(default_factory=list)  # {"id", "name", "phone"}
    meters_new: list[dict] = field(default_factory=list)      # {"meter_number", "account_code" | "motor_code"}
    meters_retired: list[int] = field(default_factory=list)   # meter ids -> status "replaced"
    links_new: list[dict] = field(default_factory=list)       # {"account_code", "motor_code"}
    links_removed: list[dict] = field(default_factory=list)   # {"account_code", "motor_code"}

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.__dict__.items()}

    @property
    def empty(self) -> bool:
        return not any(self.__dict__.values())


@dataclass
class ImportReport:
    rows: int
    dry_run: bool
    counts: dict[str, int]

    def lines(self) -> list[str]:
        c = self.counts
        return [
            f"{self.rows} row(s) read and valid" + ("; DRY RUN, nothing was written:" if self.dry_run else ":"),
            f"  accounts:  {c['flats_created']} created, {c['flats_updated']} updated, {c['flats_unchanged']} unchanged",
            f"  contacts: {c['owners_created']} created, {c['owners_updated']} updated, {c['owners_unchanged']} unchanged",
            f"  meters: {c['meters_created']} created, {c['meters_retired']} replaced, {c['meters_unchanged']} unchanged",
            f"  motors: {c['motors_created']} created; motor links {c['links_added']} added, {c['links_removed']} removed",
            f"  areas (blocks, floors): {c['areas_created']} created",
        ]


def _text(value) -> str:
    """Spreadsheet cell -> text ('19152159' whether the cell held text, an int or 19152159.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def normalize_phone(value) -> str | None:
    """'+91 98000 00001', '9800000001', '919800000001' -> '+919800000001'; '' -> None; else ValueError."""
    text = PHONE_DIGITS.sub("", _text(value))
    if not text:
        return None
    if text.isdigit() and len(text) == 10:
        text = "+91" + text
    elif text.isdigit() and len(text) == 12 and text.startswith("91"):
        text = "+" + text
    if not re.fullmatch(r"\+91\d{10}", text):
        raise ValueError(text)
    return text


class _Problems(list):
    """Problems found so far: the first MAX_PROBLEMS_KEPT kept, every one counted."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def append(self, problem: RowProblem) -> None:
        self.total += 1
        if len(self) < MAX_PROBLEMS_KEPT:
            super().append(problem)

    def __iadd__(self, problems):
        for p in problems:
            self.append(p)
        return self


def _check_text(bad, col: str, value: str, pattern: re.Pattern | None, what: str) -> None:
    if CONTROL.search(value):
        bad(col, "contains a control character (such as NUL); type it as plain text.")
    elif len(value) > MAX_LEN[col]:
        bad(col, f"'{value[:40]}...' is {len(value)} characters long; at most {MAX_LEN[col]} fit.")
    elif pattern is not None and not pattern.match(value):
        bad(col, f"'{value}' is not {what}.")


def parse_rows(columns: list[str], raw: list[dict], source: str) -> tuple[list[MasterRow], list[RowProblem]]:
    """Every field of every row checked on its own and against the other rows of the file."""
    missing = [COLUMNS[c] for c in REQUIRED if c not in columns]
    if missing:
        raise MasterDataError(source, [RowProblem(1, m, "column is missing from the header row.") for m in missing])
    problems = _Problems()
    out: list[MasterRow] = []
    seen_flat: dict[str, int] = {}
    seen_meter: dict[str, tuple[int, str]] = {}
    motor_meter_of: dict[str, tuple[int, str]] = {}
    motor_meter_rows: dict[str, tuple[int, str]] = {}
    for i, r in enumerate(raw, start=2):
        i = getattr(r, "number", i)
        bad = lambda col, msg: problems.append(RowProblem(i, COLUMNS[col], msg))  # noqa: E731
        code = normalize_flat_code(r.get("flat_code"))
        block = _text(r.get("block")).upper()
        floor = _text(r.get("floor")).upper()
        category = re.sub(r"\s+", "", _text(r.get("flat_type"))).upper()
        owner = re.sub(r"[ \t\r\n]+", " ", _text(r.get("owner_name")))  # a line break in a cell is a space
        meter = _text(r.get("meter_number"))
        motor = _text(r.get("motor")).upper() or None
        motor_meter = _text(r.get("motor_meter_number")) or None
        n_before = problems.total
        for col, value in (("flat_code", code), ("block", block), ("floor", floor), ("flat_type", category),
                           ("owner_name", owner), ("meter_number", meter)):
            if not value:
                bad(col, "is empty.")
        if code:
            _check_text(bad, "flat_code", code, CODE, "a flat code (letters, digits and '-', like B17-FF)")
        if block:
            _check_text(bad, "block", block, WORD, "a block (letters and digits, like B)")
        if floor:
            _check_text(bad, "floor", floor, WORD, "a floor code (letters and digits, like FF)")
        m = FLAT_CODE.match(code or "")
        if m and block and m.group(1) != block:
            bad("block", f"is {block} but flat code {code} is in block {m.group(1)}.")
        if m and floor and m.group(3) != floor:
            bad("floor", f"is {floor} but flat code {code} is on floor {m.group(3)}.")
        if category:
            _check_text(bad, "flat_type", category, None, "")
            bhk = BHK.match(category)
            if bhk and not 1 <= int(bhk.group(1)) <= MAX_BHK:
                bad("flat_type", f"'{category}' has {int(bhk.group(1))} bedrooms; a BHK count is 1 to {MAX_BHK}.")
        if owner:
            _check_text(bad, "owner_name", owner, None, "")
        try:
            phone = normalize_phone(r.get("owner_phone"))
        except ValueError:
            phone = None
            bad("owner_phone", f"'{_text(r.get('owner_phone'))[:40]}' is not a phone number; use +91 and 10 digits, "
                               "e.g. +919800000001.")
        for col, value in (("meter_number", meter), ("motor_meter_number", motor_meter), ("motor", motor)):
            if value:
                _check_text(bad, col, value, re.compile(r"^[A-Za-z0-9-]+$"),
                            "a meter number or code (letters, digits and '-')")
        if motor_meter and not motor:
            bad("motor_meter_number", "is given but Motor is empty; name the motor the meter belongs to.")
        problems += price_problems(r, i, columns)[1]
        if code in seen_flat:
            bad("flat_code", f"duplicate flat code {code} (first on row {seen_flat[code]}).")
        elif code:
            seen_flat[code] = i
        if meter in seen_meter:
            other_row, other_flat = seen_meter[meter]
            bad("meter_number", f"meter {meter} is on two accounts: {other_flat} (row {other_row}) and {code}.")
        elif meter:
            seen_meter[meter] = (i, code)
        if meter and meter in motor_meter_rows:
            bad("meter_number", f"meter {meter} is motor {motor_meter_rows[meter][1]}'s meter (row "
                                f"{motor_meter_rows[meter][0]}), not a flat's.")
        if motor and motor_meter:
            first = motor_meter_of.setdefault(motor, (i, motor_meter))
            if first[1] != motor_meter:
                bad("motor_meter_number", f"motor {motor} has meter {first[1]} on row {first[0]}, not {motor_meter}.")
            claimed = motor_meter_rows.setdefault(motor_meter, (i, motor))
            if claimed[1] != motor:
                bad("motor_meter_number", f"meter {motor_meter} belongs to motor {claimed[1]} (row {claimed[0]}).")
            if motor_meter in seen_meter:
                bad("motor_meter_number", f"meter {motor_meter} is flat {seen_meter[motor_meter][1]}'s meter (row "
                                          f"{seen_meter[motor_meter][0]}), not a motor's.")
        if problems.total == n_before:
            out.append(MasterRow(i, code, block, floor, category, owner, phone, meter, motor, motor_meter))
    return out, problems


def check_against_database(rows: list[MasterRow], state: MasterDataState, floors: set[str],
                           known_types: set[str]) -> list[RowProblem]:
    """Problems only the database can show: unknown floors (that the import cannot create) or flat
    types, meters that belong elsewhere."""
    problems = []
    for r in rows:
        if r.floor not in floors and creatable_floor(r.floor) is None:
            problems.append(RowProblem(r.row, COLUMNS["floor"], f"unknown floor {r.floor}; known floors are "
                                       f"{', '.join(sorted(floors)) or '(none)'}, and the import creates "
                                       f"{', '.join(STANDARD_FLOORS)} and 4F, 5F ... when missing. Fix the "
                                       "code, or add the floor to the database first."))
        if r.category not in known_types and not BHK.match(r.category):
            problems.append(RowProblem(r.row, COLUMNS["flat_type"], f"unknown flat type {r.category}; use one of "
                                       f"{', '.join(sorted(known_types)) or '(none)'} or the form 3BHK."))
        held = state.meters.get(r.meter_number)
        if held and held["account_code"] != r.account_code:
            owner = f"flat {held['account_code']}" if held["account_code"] else f"motor {held['motor_code']}"
            problems.append(RowProblem(r.row, COLUMNS["meter_number"], f"meter {r.meter_number} already belongs to "
                                       f"{owner} in the database; a meter cannot be on two accounts. Fix the number, or "
                                       "mark the old meter replaced first."))
        if r.motor_meter_number:
            held = state.meters.get(r.motor_meter_number)
            if held and (held["account_code"] or held["motor_code"] != r.motor):
                owner = f"flat {held['account_code']}" if held["account_code"] else f"motor {held['motor_code']}"
                problems.append(RowProblem(r.row, COLUMNS["motor_meter_number"], f"meter {r.motor_meter_number} "
                                           f"already belongs to {owner} in the database."))
    return problems


def plan(rows: list[MasterRow], state: MasterDataState, known_types: set[str], known_motors: set[str],
         has_motor_columns: bool, counts: dict[str, int], motor_meter_done: set[str] | None = None,
         known_floors: set[str] | None = None) -> MasterDataChanges:
    """What this chunk changes (pure). `known_types`, `known_motors`, `known_floors` and
    `motor_meter_done` (motors whose meter is settled) carry over from chunk to chunk, so nothing
    is created twice. `known_floors` None: floors are not checked (the caller did)."""
    ch = MasterDataChanges()
    motor_meter_done = set() if motor_meter_done is None else motor_meter_done
    for r in rows:
        path = f"{r.block}/{r.floor}"
        if known_floors is not None and path not in known_floors:
            name, order = creatable_floor(r.floor) or (r.floor, 99)
            if r.block not in known_floors:
                ch.areas.append({"path": r.block, "name": f"Block {r.block}", "sort_order": 0})
                known_floors.add(r.block)
            ch.areas.append({"path": path, "name": name, "sort_order": order})
            known_floors.add(path)
        known_types.add(r.category)
        if r.motor and r.motor not in known_motors:
            ch.motors.append({"code": r.motor, "name": ""})
            known_motors.add(r.motor)
        flat = state.accounts.get(r.account_code)
        if flat is None:
            ch.flats_new.append({"code": r.account_code, "area_path": path, "category": r.category,
                                 "name": r.contact_name})
            counts["flats_created"] += 1
        elif (flat["area_path"], flat["category"]) != (path, r.category):
            ch.flats_changed.append({"id": flat["id"], "area_path": path, "category": r.category})
            counts["flats_updated"] += 1
        else:
            counts["flats_unchanged"] += 1
        if flat is None or flat.get("contact_id") is None:
            ch.owners_new.append({"account_code": r.account_code, "name": r.contact_name, "phone": r.contact_phone})
            counts["owners_created"] += 1
        elif (flat["contact_name"], flat["contact_phone"]) != (r.contact_name, r.contact_phone):
            ch.owners_changed.append({"id": flat["contact_id"], "name": r.contact_name, "phone": r.contact_phone})
            counts["owners_updated"] += 1
        else:
            counts["owners_unchanged"] += 1
        active = state.flat_meters.get(r.account_code, [])
        if r.meter_number in state.meters:
            counts["meters_unchanged"] += 1
        else:
            ch.meters_new.append({"meter_number": r.meter_number, "account_code": r.account_code, "motor_code": None})
            counts["meters_created"] += 1
        retire = [mid for mid, number in active if number != r.meter_number]
        ch.meters_retired += retire
        counts["meters_retired"] += len(retire)
        if r.motor and r.motor_meter_number and r.motor not in motor_meter_done:
            motor_meter_done.add(r.motor)
            if r.motor_meter_number not in state.meters:
                ch.meters_new.append({"meter_number": r.motor_meter_number, "account_code": None, "motor_code": r.motor})
                counts["meters_created"] += 1
                retire = [mid for mid, n in state.motor_meters.get(r.motor, []) if n != r.motor_meter_number]
                ch.meters_retired += retire
                counts["meters_retired"] += len(retire)
        if has_motor_columns:
            linked = state.account_motors.get(r.account_code, [])
            wanted = [r.motor] if r.motor else []
            for code in wanted:
                if code not in linked:
                    ch.links_new.append({"account_code": r.account_code, "motor_code": code})
                    counts["links_added"] += 1
            for code in linked:
                if code not in wanted:
                    ch.links_removed.append({"account_code": r.account_code, "motor_code": code})
                    counts["links_removed"] += 1
    counts["areas_created"] += len(ch.areas)
    counts["motors_created"] += len(ch.motors)
    return ch


COUNT_KEYS = ("flats_created", "flats_updated", "flats_unchanged", "owners_created", "owners_updated",
              "owners_unchanged", "meters_created", "meters_retired", "meters_unchanged", "motors_created",
              "links_added", "links_removed", "areas_created")


def import_master_data(storage, path: str | Path, *, actor: Actor | None = None, dry_run: bool = False,
                       chunk: int = CHUNK, limits: ReadLimits | None = None) -> ImportReport:
    """Check the whole file, then (unless dry_run) store all of it in one unit of work. Raises
    MasterDataError listing every problem with its row and column; nothing is written then, nor
    when the database refuses any part of it."""
    actor = require(actor, Permission.MANAGE_MASTER_DATA)
    source = str(path)
    columns, raw = read_table(path, limits)
    rows, problems = parse_rows(columns, raw, source)
    has_motor_columns = all(c in columns for c in MOTOR_COLUMNS)
    areas = storage.list_areas()
    floors = {a.code for a in areas if a.level == 2}
    known_floors = {a.path for a in areas}
    known_types: set[str] = set()
    motors_needed = sorted({r.motor for r in rows if r.motor})
    known_motors = set(storage.lookup_ids("motors", "code", motors_needed)) if motors_needed else set()
    counts = dict.fromkeys(COUNT_KEYS, 0)
    plans: list[MasterDataChanges] = []
    motor_meter_done: set[str] = set()
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        state = storage.master_data_state(
            [r.account_code for r in part],
            [r.meter_number for r in part] + [r.motor_meter_number for r in part if r.motor_meter_number],
            sorted({r.motor for r in part if r.motor}))
        problems += check_against_database(part, state, floors, known_types)
        if not problems.total:
            plans.append(plan(part, state, known_types, known_motors, has_motor_columns, counts, motor_meter_done,
                              known_floors))
    if problems.total:
        raise MasterDataError(source, sorted(problems, key=lambda p: p.row), total=problems.total)
    if not dry_run:
        written = [changes for changes in plans if not changes.empty]
        if written and any(ch.flats_new for ch in written):
            _ensure_society(storage, actor)  # an empty database: the society and its plan, to connect flats to
        if written:
            storage.apply_master_data(written, actor)  # every chunk in one transaction
            storage.refresh_statistics()
    return ImportReport(len(raw), dry_run, counts)


def _ensure_society(storage, actor: Actor) -> None:
    """The master data spreadsheet is the society's: a database without a utility gets the society
    template and its electricity plan (what DatabaseService.set_up_utility stores)."""
    from services.accounts.utility import TEMPLATES
    from services.config import ROOT
    from services.tariffs import TariffPlan

    settings = TEMPLATES["society"]
    if storage.utility_settings_row() is None:
        storage.save_utility_settings(settings.as_row(), actor)
    if not any(sp.plan.service == "electricity" for sp in storage.list_tariff_plans()):
        storage.save_tariff_plan(TariffPlan.load(ROOT / settings.plan_file), actor)
