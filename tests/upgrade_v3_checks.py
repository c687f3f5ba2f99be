"""What a database upgraded to schema version 3 must show (database/upgrade_v3.py), used by the
SQLite, PostgreSQL and Supabase upgrade tests: the old database is read with its own driver
before the upgrade (`legacy_snapshot`), the upgraded one through the storage and the same driver
(`check_upgraded`)."""
from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

from database.schema import SCHEMA_VERSION
from scripts import verify_billing
from services.accounts.utility import TEMPLATES
from services.billing.pricing import recompute_bill
from services.models import BillFilter, ReadingFilter
from services.tariff_rules import TariffPlan, TariffRules
from tests.factories import ADMIN, make_service

ROOT = Path(__file__).resolve().parent.parent
V1 = ROOT / "tests" / "fixtures" / "schema_v1"
V2 = ROOT / "tests" / "fixtures" / "schema_v2"
TODAY = dt.date(2026, 11, 22)
OPEN = ("pending", "partially_paid", "overdue")
Q4 = Decimal("0.0001")

# (name, query on the old schema, query on the new one): the same rows, column for column, by id.
PAIRS = [
    ("flats -> accounts",
     "SELECT f.id, f.code, f.block, fl.code, fl.name, ft.name, f.is_active, COALESCE(o.name, ''), f.created_at "
     "FROM flats f LEFT JOIN floors fl ON fl.id = f.floor_id LEFT JOIN flat_types ft ON ft.id = f.type_id "
     "LEFT JOIN flat_owners fo ON fo.flat_id = f.id AND fo.is_primary LEFT JOIN owners o ON o.id = fo.owner_id",
     "SELECT a.id, a.code, blk.code, fl.code, fl.name, a.category, a.is_active, a.name, a.created_at "
     "FROM accounts a JOIN areas fl ON fl.id = a.area_id AND fl.level = 2 JOIN areas blk ON blk.id = fl.parent_id "
     "AND blk.level = 1 AND fl.path = blk.code || '/' || fl.code WHERE a.account_type = 'flat'"),
    ("owners -> contacts", "SELECT id, name, phone, email, created_at FROM owners",
     "SELECT id, name, phone, email, created_at FROM contacts WHERE address IS NULL"),
    ("flat_owners -> account_contacts", "SELECT id, flat_id, owner_id, is_primary FROM flat_owners",
     "SELECT id, account_id, contact_id, is_primary FROM account_contacts WHERE role = 'owner'"),
    ("flat_motors -> account_motors", "SELECT id, flat_id, motor_id FROM flat_motors",
     "SELECT id, account_id, motor_id FROM account_motors"),
    ("motors", "SELECT id, code, name, created_at FROM motors", "SELECT id, code, name, created_at FROM motors"),
    ("meters", "SELECT id, meter_number, flat_id, motor_id, status, is_smart, created_at FROM meters",
     "SELECT id, meter_number, account_id, motor_id, status, is_smart, created_at FROM meters "
     "WHERE service = 'electricity' AND unit = 'kWh'"),
    ("readings", *["SELECT id, meter_id, reading_value, reading_date, consumption, previous_reading_id, motor_share, "
                   "motor_reading_id, source, status, flags, approved_units, rejection_reason, submitted_by, reviewed_by, "
                   "reviewed_at, created_at, updated_at FROM readings"] * 2),
    ("bills",
     "SELECT id, flat_id, billing_period_start, billing_period_end, due_date, tariff_kind, pricing_rule, flat_units, "
     "motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, tariff_details, total_amount, status, "
     "amount_paid, paid_at, carried_forward_to, flat_reading_id, motor_reading_id, reissue_of, bill_run_id, created_by, "
     "created_by_name, created_at, updated_at{v2} FROM bills",
     "SELECT id, account_id, billing_period_start, billing_period_end, due_date, tariff_kind, pricing_rule, units, "
     "motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, tariff_details, total_amount, status, "
     "amount_paid, paid_at, carried_forward_to, last_reading_id, motor_reading_id, reissue_of, bill_run_id, created_by, "
     "created_by_name, created_at, updated_at{v2} FROM bills WHERE service = 'electricity'"),
    ("payments", *["SELECT id, bill_id, amount, paid_on, method, reference, external_id, recorded_by, recorded_by_name, "
                   "created_at{credit} FROM payments"] * 2),
    ("users", *["SELECT id, username, display_name, email, role, password_hash, is_active, created_at FROM users"] * 2),
    ("audit_log", "SELECT id, occurred_at, actor_id, actor_name, client, action, entity_type, entity_id, details "
                  "FROM audit_log",
     "SELECT id, occurred_at, actor_id, actor_name, client, action, entity_type, entity_id, details FROM audit_log "
     "WHERE action <> 'schema.upgrade'"),
    ("period_locks", *["SELECT id, month, reason, locked_by, locked_at, bill_count_at_lock FROM period_locks"] * 2),
    ("bill_runs", "SELECT id, billing_period_start, billing_period_end, due_date, status, created_count, skipped_count, "
                  "total_amount, started_by, started_at, finished_at FROM bill_runs",
     "SELECT id, billing_period_start, billing_period_end, due_date, status, created_count, skipped_count, "
     "total_amount, started_by, started_at, finished_at FROM bill_runs WHERE service = 'electricity' AND area_id IS NULL"),
    ("notifications", "SELECT id, bill_id, owner_id, kind, channel, recipient, message, status, attempts, sent_at "
                      "FROM notifications",
     "SELECT id, bill_id, contact_id, kind, channel, recipient, message, status, attempts, sent_at FROM notifications"),
    ("payment_events", *["SELECT id, bill_id, event_type, stripe_event_id, outcome, event_data FROM payment_events"] * 2),
    ("user_sessions", *["SELECT id, token_hash, user_id, expires_at FROM user_sessions"] * 2),
    ("job_runs", *["SELECT id, job_id, run_key, status, started_at FROM job_runs"] * 2),
]
V2_PAIRS = [  # tables version 1 did not have
    ("bill_readings", *["SELECT id, bill_id, reading_id, units, motor_units, superseded_by FROM bill_readings"] * 2),
    ("meter_changes", *["SELECT id, kind, old_meter_id, new_meter_id, change_date, final_reading_id, start_reading_id, "
                        "reason, recorded_by_name FROM meter_changes"] * 2),
]


def norm(value):
    """Numbers compared exactly whatever the driver gives (SQLite: float or int; PostgreSQL: Decimal)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value)).quantize(Q4)
    return value


def rows(conn, sql: str) -> list[tuple]:
    return [tuple(norm(x) for x in r) for r in conn.execute(sql + " ORDER BY 1").fetchall()]


def _queries(version: int):
    fill = {"v2": ", first_reading_id, superseded_by" if version >= 2 else "",
            "credit": ", credit_from_bill" if version >= 2 else ""}
    pairs = PAIRS + (V2_PAIRS if version >= 2 else [])
    return [(name, old.format(**fill), new.format(**fill)) for name, old, new in pairs]


def legacy_snapshot(conn) -> dict:
    """What the old database (version 1 or 2) holds, read with its own driver (sqlite3 / psycopg)."""
    version = int(conn.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone()[0])
    owed: dict[str, Decimal] = {}
    for code, total, paid in conn.execute(
            "SELECT f.code, b.total_amount, b.amount_paid FROM bills b JOIN flats f ON f.id = b.flat_id "
            f"WHERE b.status IN {OPEN}").fetchall():
        owed[code] = owed.get(code, Decimal("0")) + norm(total) - norm(paid)
    codes = [c for (c,) in conn.execute("SELECT code FROM flats ORDER BY id").fetchall()]
    return {"version": version, "tables": {name: rows(conn, old) for name, old, _ in _queries(version)},
            "owed": {c: owed.get(c, Decimal("0")).quantize(Decimal("0.01")) for c in codes}}


def check_upgraded(storage, conn, before: dict) -> None:
    """The upgraded database, through `storage` and the raw driver connection `conn`."""
    assert conn.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone()[0] == str(SCHEMA_VERSION)
    # Every row of every table, with the same ids and values.
    for name, _, new in _queries(before["version"]):
        assert rows(conn, new) == before["tables"][name], name
    (audit,) = conn.execute("SELECT details FROM audit_log WHERE action = 'schema.upgrade'").fetchall()
    assert "to_version" in str(audit[0])
    # The utility and its plan, as set-up stores them; every account connected to it.
    settings = storage.utility_settings_row()
    assert {k: settings[k] for k in TEMPLATES["society"].as_row()} == TEMPLATES["society"].as_row()
    stored = storage.get_tariff_plan(code="society-electricity")
    assert stored.plan.to_dict() == TariffPlan.load(ROOT / TEMPLATES["society"].plan_file).to_dict()  # JSONB keeps no key order
    version_1 = stored.version_id(1)
    assert conn.execute("SELECT count(*) FROM service_connections WHERE service = 'electricity' AND tariff_plan_id = "
                        f"{stored.id}").fetchone()[0] == len(before["owed"])
    # Every bill: the society plan's version 1, its account's area and category, lines that read as a
    # new bill's (services/tariffs/flat_rate.py) and add up to its total, which recomputes.
    accounts = {a: (area, cat) for a, area, cat in conn.execute("SELECT id, area_id, category FROM accounts").fetchall()}
    db = make_service(storage, TODAY)
    book = db.plan_book()
    bills, after = [], 0
    while page := storage.list_bills_after(BillFilter(), after, 500):
        bills += page
        after = page[-1].id
    assert len(bills) == len(before["tables"]["bills"])
    for bill in bills:
        assert (bill.tariff_plan_version_id, bill.service) == (version_1, "electricity"), bill.id
        assert (bill.area_id, bill.category) == accounts[bill.account_id], bill.id
        lines = storage.list_bill_lines(bill.id)
        q = TariffRules.quote(stored.plan, quantity=bill.units, shared_units=bill.motor_units,
                              rate_per_unit=bill.rate_per_unit, fixed_charge=bill.fixed_charge,
                              pricing_rule=bill.pricing_rule, previous_outstanding=bill.previous_outstanding,
                              period_start=bill.billing_period_start, period_end=bill.billing_period_end)
        assert [(x.seq, x.code, x.label, x.amount) for x in lines] == \
               [(i + 1, x.code, x.label, x.amount) for i, x in enumerate(q.lines)], bill.id
        assert sum(x.amount for x in lines) == bill.total_amount == TariffRules.recompute(bill) == q.total_amount
        assert recompute_bill(bill, lines, book) == (bill.total_amount, True)
    # Every bill got a number (database/bill_numbers.py): per series, 1..n in the order of the ids.
    series: dict[str, list[tuple[int, int]]] = {}
    for bill in bills:
        prefix, n = bill.bill_number.rsplit("-", 1)
        series.setdefault(prefix, []).append((bill.id, int(n)))
    for prefix, got in series.items():
        assert [n for _, n in sorted(got)] == list(range(1, len(got) + 1)), prefix
        assert prefix.startswith("BC-")
        (last,) = conn.execute(f"SELECT last_number FROM bill_number_series WHERE series = '{prefix}'").fetchone()
        assert last == len(got), prefix
    # verify_billing finds nothing the old data did not have (see test_upgrade_v3.py for #121).
    ok, report = verify_billing.verify(storage)
    assert ok, report
    # What each flat owes: what the old database said it owed on its open bills.
    assert {code: db.flat_outstanding(code) for code in before["owed"]} == before["owed"]


def bill_and_run_a_month(storage) -> None:
    """On the upgraded database: the pending readings approved, one bill made by hand, then the month
    run for the rest. Each new bill's lines add up to its total, which recomputes; each flat owes
    what it owed plus the current charges of its new bills; verify_billing passes."""
    db = make_service(storage, TODAY)
    codes = [a.code for a in db.list_accounts(limit=1000, actor=ADMIN).items]
    owed = {c: db.flat_outstanding(c) for c in codes}
    last = max(b.id for b in storage.list_bills_after(BillFilter(), 0, 10_000))
    pending = db.list_pending_readings(limit=1000, actor=ADMIN).items
    for r in sorted(pending, key=lambda r: (r.account_id is not None, r.id)):  # shared motors' first
        db.approve_reading(r.id, actor=ADMIN)
    b1gf = next(r for r in db.list_readings(ReadingFilter(status="approved", account_code="B1-GF"), limit=50,
                                            actor=ADMIN).items if r.reading_date == dt.date(2026, 11, 20))
    one = db.bill_reading(b1gf.id, "2026-11-01", "2026-11-30", "2026-12-15", actor=ADMIN)
    run = db.generate_bills_for_month("2026-11-01", "2026-11-30", "2026-12-15", actor=ADMIN)
    assert run.status == "completed" and run.refused == 0 and run.created >= 1 and run.skipped >= 1, run
    new = storage.list_bills_after(BillFilter(), last, 10_000)
    assert one.id in {b.id for b in new} and len(new) == run.created + 1
    book = db.plan_book()
    for bill in new:
        lines = storage.list_bill_lines(bill.id)
        assert sum(x.amount for x in lines) == bill.total_amount
        assert recompute_bill(bill, lines, book) == (bill.total_amount, True)
        owed[bill.account_code] += bill.total_amount - bill.previous_outstanding
    assert {c: db.flat_outstanding(c) for c in codes} == owed
    ok, report = verify_billing.verify(storage)
    assert ok, report


# ---- loading the fixtures ------------------------------------------------------------------------
def psql(pg_server, dbname: str, path: Path) -> None:
    subprocess.run([str(pg_server.pg.pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(pg_server.pg.port), "-U", "postgres",
                    "-d", dbname, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path)],
                   check=True, capture_output=True, text=True)


def data_only(dump: Path, out: Path) -> Path:
    """The rows of a pg_dump (its COPY blocks and sequence values), to load into a schema made
    another way (the Supabase file of that version), replacing the rows that file seeds."""
    keep, copying = ["SET session_replication_role = replica;", "DELETE FROM public.period_locks;",
                     "DELETE FROM public.schema_info;"], False
    for line in dump.read_text().splitlines():
        if line.startswith("COPY public."):
            copying = True
        if copying or line.startswith("SELECT pg_catalog.setval("):
            keep.append(line)
        if line == "\\.":
            copying = False
    out.write_text("\n".join(keep) + "\n")
    return out
