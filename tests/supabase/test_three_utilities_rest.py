"""The three-utility core through the Supabase REST backend, side by side with the SQL backend
(SQLite): the same calls give the same answers. The contract suite builds the society; these build
the water utility (daily usage, tiered plans, billing cycles) and the municipal one (a fixed fee by
category) too, and compare what each backend stores and lists: areas at several levels, accounts
and their filters, tariff plans and their versions, service connections, usage totals, the month
run by quantity source, bills with their lines, and the audit rows."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ValidationError
from services.models import AccountFilter, BillFilter
from tests.factories import ADMIN, make_service
from tests.supabase.harness import start_supabase

d = dt.date
TODAY = d(2026, 11, 22)
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))

# code, area path, category, account type, active, name
CUSTOMERS = (
    ("HS0000001", "N/C1", "residential", "residential", True, "Noah Hernandez"),
    ("HS0000002", "N/C2", "commercial", "commercial", True, "Bean Counter Cafe"),
    ("HS0000003", "S/C1", "residential", "residential", True, "Mia Chen"),
    ("HS0000004", "N/C1", "residential", "residential", False, "Closed Account"),
)
UNITS = (
    ("SP-1", "LHR/UC-1", "Residential", "Up to 5 Marla", True, "Asad Ali"),
    ("SP-2", "LHR/UC-1", "Small", "Bakery", True, "Fresh Bakers"),
    ("SP-3", "LHR/UC-2", "Medium", "Tailor", True, "Stitch Well"),
    ("SP-4", "KSR/UC-9", "Residential", "Above 40 Marla", True, "Bilal Haider"),
)


@pytest.fixture
def pair(request, tmp_path):
    """(REST storage, SQLite storage), both empty."""
    from services.storage.sql_backend import SqlStorage

    rest, _ = start_supabase(request)
    sql = SqlStorage(f"sqlite:///{tmp_path / 'side_by_side.db'}")
    yield rest, sql
    rest.dispose()
    sql.dispose()


def build(st, template: str, rows, areas: list[dict]):
    """A utility of the template with the rows as accounts (in their leaf areas), each connected to
    the template's plan."""
    db = make_service(st, TODAY)
    settings = db.set_up_utility(template, actor=ADMIN)
    paths = st.ensure_areas(areas, ADMIN)
    st.bulk_insert("accounts", [{"code": c, "area_id": paths[p], "category": cat, "account_type": typ, "is_active": act,
                                 "name": name} for c, p, cat, typ, act, name in rows])
    ids = st.lookup_ids("accounts", "code", [r[0] for r in rows])
    plan = next(sp for sp in st.list_tariff_plans() if sp.plan.service == settings.service)
    st.bulk_insert("service_connections", [{"account_id": ids[r[0]], "service": settings.service,
                                            "tariff_plan_id": plan.id} for r in rows])
    return db, ids


def build_water(st):
    db, ids = build(st, "water", CUSTOMERS, [
        {"path": "N", "name": "North", "sort_order": 2}, {"path": "N/C1", "name": "Cycle 1", "kind": "monthly"},
        {"path": "N/C2", "name": "Cycle 2"}, {"path": "S/C1", "name": "South cycle 1", "sort_order": 1}])
    usage = []
    for i, (code, *_rest) in enumerate(CUSTOMERS[:2] + CUSTOMERS[3:]):  # HS0000003 used nothing in October
        for day in range(1, 32):
            usage.append({"account_id": ids[code], "usage_date": d(2026, 10, day), "quantity": D("0.85") * (i + 1),
                          "source": "import"})
        usage.append({"account_id": ids[code], "usage_date": d(2026, 9, 30), "quantity": D("7.00"), "source": "import"})
    usage.append({"account_id": ids["HS0000003"], "usage_date": d(2026, 11, 2), "quantity": D("1.10"), "source": "meter"})
    st.bulk_insert("daily_usage", usage)
    return db, ids


def bills_of(st, month="2026-10"):
    out = []
    for b in st.list_bills(BillFilter(period_month=month), limit=100).items:
        lines = [(ln.seq, ln.code, ln.label, ln.quantity, ln.unit, ln.rate, ln.amount) for ln in st.list_bill_lines(b.id)]
        assert sum((ln[-1] for ln in lines), D("0")) == b.total_amount  # the lines sum to the total
        out.append((b.account_code, b.area_path, b.service, b.category, b.tariff_kind, b.pricing_rule, b.plan_code,
                    b.plan_version, b.units, b.total_units, b.rate_per_unit, b.fixed_charge, b.total_amount,
                    b.usage_from, b.usage_to, b.status, b.tariff_details, tuple(lines)))
    return sorted(out)


def audit_of(st, prefix):
    return [(a.action, a.entity_type, a.details) for a in st.list_audit(action_prefix=prefix, limit=200).items]


def side_by_side(pair, fn):
    rest, sql = pair
    a, b = fn(rest), fn(sql)
    assert a == b
    return a


def test_water_utility_the_same_on_both(pair):
    ids = {st.backend_name: build_water(st)[1] for st in pair}
    for prefix in ("utility.", "tariff_plan.", "area."):  # the same audit rows (ids aside)
        side_by_side(pair, lambda st: [(action, kind, {k: v for k, v in (details or {}).items() if k != "version_id"})
                                       for action, kind, details in audit_of(st, prefix)])
    # areas: listed in (sort_order, path) order, at a level or under a parent
    side_by_side(pair, lambda st: [(a.path, a.level, a.code, a.name, a.kind, a.sort_order) for a in st.list_areas()])
    side_by_side(pair, lambda st: [a.path for a in st.list_areas(level=2)])
    side_by_side(pair, lambda st: [a.path for a in st.list_areas(parent_id=st.get_area(path="N").id)])
    assert side_by_side(pair, lambda st: st.get_area(path="N/C1").name) == "Cycle 1"
    assert pair[0].get_area(path="X") is None and pair[0].get_area(area_id=987654) is None

    # accounts: filters in the database, by code
    def accounts(st, **flt):
        if "area" in flt:
            flt["area_id"] = st.get_area(path=flt.pop("area")).id
        page = st.list_accounts(AccountFilter(**flt), 0, 2)
        rest_of = st.list_accounts(AccountFilter(**flt), 2, 10, with_total=False)
        return page.total, [(a.code, a.area_path, a.area_name, a.category, a.is_active, a.contact_name)
                            for a in page.items + rest_of.items]

    for flt, codes in (({}, ["HS0000001", "HS0000002", "HS0000003", "HS0000004"]),
                       ({"area": "N"}, ["HS0000001", "HS0000002", "HS0000004"]),
                       ({"area": "N/C1", "is_active": True}, ["HS0000001"]),
                       ({"category": "commercial"}, ["HS0000002"]),
                       ({"account_type": "residential", "is_active": False}, ["HS0000004"]),
                       ({"search": "hs000000"}, ["HS0000001", "HS0000002", "HS0000003", "HS0000004"]),
                       ({"search": "chen"}, ["HS0000003"]),
                       ({"search": "n_c"}, []),  # LIKE's wildcard is a plain character ("Bean Counter")
                       ({"search": "bean c"}, ["HS0000002"])):
        total, items = side_by_side(pair, lambda st: accounts(st, **flt))
        assert (total, [x[0] for x in items]) == (len(codes), codes), flt
    acct = side_by_side(pair, lambda st: st.get_account(code="hs0000002").area_path)
    assert acct == "N/C2"

    # plans, connections, usage
    side_by_side(pair, lambda st: [(sp.plan.to_dict(), sorted(sp.version_ids)) for sp in st.list_tariff_plans()])
    side_by_side(pair, lambda st: st.get_tariff_plan(code="water-standard").plan.to_dict())
    assert pair[0].get_tariff_plan(code="nope") is None
    conn = side_by_side(pair, lambda st: (lambda c: (c.service, c.plan_code, c.plan_kind, c.is_active))(
        st.service_connection(st.get_account(code="HS0000001").id, "water")))
    assert conn == ("water", "water-standard", "tiered_seasonal", True)
    assert pair[0].service_connection(ids["supabase"]["HS0000001"], "electricity") is None
    def usage(st):
        codes = {st.get_account(code=c).id: c for c, *_ in CUSTOMERS[:3]}
        return {codes[i]: (u.first_date, u.last_date, u.days, u.quantity)
                for i, u in st.usage_totals(list(codes), *OCT[:2]).items()}

    assert side_by_side(pair, usage) == {"HS0000001": (d(2026, 10, 1), d(2026, 10, 31), 31, D("26.35")),
                                         "HS0000002": (d(2026, 10, 1), d(2026, 10, 31), 31, D("52.70"))}

    # The month run bills daily usage: active accounts with usage in the period, priced by the plan.
    def run(st, **kw):
        db = make_service(st, TODAY)
        s = db.generate_bills_for_month(*OCT, actor=ADMIN, **kw)
        return s.created, s.skipped, s.total_amount, s.status

    assert side_by_side(pair, lambda st: run(st, dry_run=True))[0] == 2
    created = side_by_side(pair, lambda st: run(st, area_id=st.get_area(path="N/C2").id))
    assert created[:2] == (1, 0)
    assert side_by_side(pair, lambda st: run(st))[:2] == (1, 1)  # the N/C2 bill is skipped
    bills = side_by_side(pair, bills_of)
    assert [(b[0], b[1], b[13], b[14]) for b in bills] == [("HS0000001", "N/C1", d(2026, 10, 1), d(2026, 10, 31)),
                                                           ("HS0000002", "N/C2", d(2026, 10, 1), d(2026, 10, 31))]
    assert all(len(b[-1]) > 1 for b in bills)  # tiers and fees, each its own line
    side_by_side(pair, lambda st: [(r.service, st.get_area(area_id=r.area_id).path if r.area_id else None,
                                    r.created_count, r.total_amount, r.status) for r in st.list_bill_runs()])
    assert side_by_side(pair, lambda st: st.count_run_skips(*OCT[:2], service="water", source="usage")) == 2
    assert side_by_side(pair, lambda st: st.count_run_skips(*OCT[:2], service="water", source="usage",
                                                            area_id=st.get_area(path="S").id)) == 0
    nov = side_by_side(pair, lambda st: [(c.account_code, c.area_id == st.get_account(code=c.account_code).area_id,
                                          c.usage, c.outstanding, c.tail)
                                         for c in st.bill_run_candidates(d(2026, 11, 1), d(2026, 11, 30), service="water",
                                                                         source="usage")[0]])
    assert [(c[0], c[1], c[2].quantity, c[3]) for c in nov] == [("HS0000003", True, D("1.10"), D("0.00"))]
    # Each account owes its own bill, and only of its service.
    side_by_side(pair, lambda st: st.open_balance(st.get_account(code="HS0000001").id, "water")[0])
    assert pair[0].open_balance(ids["supabase"]["HS0000001"], "electricity") == (D("0.00"), ())
    side_by_side(pair, lambda st: st.current_bill_at(st.get_account(code="HS0000002").id, OCT[0], "water").total_amount)
    assert pair[0].current_bill_at(ids["supabase"]["HS0000002"], OCT[0], "electricity") is None
    side_by_side(pair, lambda st: [b.account_code for b in st.list_bills(
        BillFilter(area_id=st.get_area(path="N").id, service="water", category="commercial")).items])


def test_municipal_fixed_fees_the_same_on_both(pair):
    for st in pair:
        build(st, "municipal", UNITS, [{"path": "LHR", "name": "Lahore"}, {"path": "KSR", "name": "Kasur"},
                                       {"path": "LHR/UC-1", "name": "UC 1", "kind": "urban"},
                                       {"path": "LHR/UC-2", "name": "UC 2", "kind": "urban"},
                                       {"path": "KSR/UC-9", "name": "UC 9", "kind": "rural"}])

    def run(st):
        s = make_service(st, TODAY).generate_bills_for_month(*OCT, actor=ADMIN, batch_size=2)
        return s.created, s.skipped, s.total_amount

    assert side_by_side(pair, run) == (4, 0, D("7300.00"))
    bills = side_by_side(pair, bills_of)  # data/tariffs/municipal.toml: a row of the schedule, else the default
    assert [(b[0], b[1], b[3], b[12]) for b in bills] == [
        ("SP-1", "LHR/UC-1", "Residential", D("300.00")), ("SP-2", "LHR/UC-1", "Small", D("1000.00")),
        ("SP-3", "LHR/UC-2", "Medium", D("1000.00")), ("SP-4", "KSR/UC-9", "Residential", D("5000.00"))]
    assert all(b[8] == 0 and b[14] is None for b in bills)  # no quantity, no usage span
    assert side_by_side(pair, run) == (0, 4, D("0.00"))  # every account billed: all skipped


def test_plan_versions_are_append_only_on_both(pair):
    from services.config import ROOT
    from services.tariffs import TariffPlan

    plan = TariffPlan.load(ROOT / "data" / "tariffs" / "society.toml")
    raw = plan.to_dict()
    later = dict(raw["versions"][0], version=2, effective_from="2027-04-01",
                 params=dict(raw["versions"][0]["params"], default_rate="13"))
    grown = TariffPlan.from_dict(dict(raw, versions=raw["versions"] + [later]))
    changed = TariffPlan.from_dict(dict(raw, versions=[dict(raw["versions"][0], effective_from="2019-01-01"), later,
                                                       dict(later, version=3, effective_from="2028-01-01")]))

    def steps(st):
        first = st.save_tariff_plan(plan, ADMIN)
        second = st.save_tariff_plan(grown, ADMIN)
        with pytest.raises(ValidationError) as e:
            st.save_tariff_plan(changed, ADMIN)
        stored = st.get_tariff_plan(code=plan.code)
        return (sorted(first.version_ids), sorted(second.version_ids), e.value.field, "other terms" in str(e.value),
                sorted(stored.version_ids), stored.plan.to_dict(), audit_of(st, "tariff_plan.")[0][:2])

    out = side_by_side(pair, steps)
    assert out[:5] == ([1], [1, 2], "version", True, [1, 2])
