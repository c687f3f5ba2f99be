"""Admin: month-end bill run (dry run first, then the run with a summary; locked month refused; by area; for
each utility: readings, a fixed fee, daily usage)."""
from decimal import Decimal

from services.demo import society as demo
from services.clock import today as app_today
from services.database_service import DatabaseService
from services.models import BillFilter, ReadingFilter
from services.billing.periods import month_key
from services.accounts.roles import Actor
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401
from tests.ui.utilities import municipal_url, water_url  # noqa: F401

PAGE = "ui/generate_bills.py"
MONTH = month_key(demo.reading_dates(app_today())[-1])  # the month whose readings the seed left pending


def _approve_month(url) -> int:
    st = storage_for(url)
    admin = st.get_user(username="admin")
    ids = [r.id for r in st.list_readings(ReadingFilter(status="pending", account_meters_only=True), 0, 1000).items]
    return DatabaseService(st).bulk_approve_unflagged(ids, actor=Actor(admin.id, admin.username, admin.role))


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def _click(at, label_start: str):
    next(b for b in at.button if b.label.startswith(label_start)).click()
    return at.run()


def test_dry_run_then_run_then_nothing_left(seeded_url, monkeypatch, tmp_path):
    approved = _approve_month(seeded_url)
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(MONTH).run()
    at = _click(at, "Preview (dry run)")
    assert not at.exception
    m = _metrics(at)
    assert m["Bills to create"] == f"{approved:,}" and m["Skipped: already billed"] == "0"
    assert m["Refused: locked month"] == "0" and m["Total amount"].startswith("₹")
    assert st.list_bills(BillFilter(period_month=MONTH)).total == 0  # a dry run writes nothing
    # Its manifest (docs/trust.md): the diff against last month, the biggest movers with why, downloads.
    assert any("Compared with last month's bills" in x.value for x in at.markdown)
    movers = at.dataframe[0].value
    assert len(movers) == min(20, approved) and movers["why"].str.contains("units|arrears|tier").all()
    assert {x.proto.label for x in at.get("download_button")} >= {"Download manifest (JSON)", "Download manifest (CSV)"}
    at = _click(at, f"Create {approved:,} bills")
    assert not at.exception
    assert st.list_bills(BillFilter(period_month=MONTH)).total == approved
    assert any("created" in plain(s.value) and f"{approved}" in s.value for s in at.success)
    assert any(c.value.startswith("meterline-bill-chain seq=") for c in at.code)  # the chain head, on the report
    runs = at.dataframe[-1].value  # the recent runs, below the run's manifest tables
    assert runs["status"][0] == "completed" and runs["created"][0] == approved
    # The run's bills, to print or email: a link to the bills list filtered to the run.
    link = next(x for x in at.get("page_link") if "Print or email the bills of run" in x.proto.label)
    run_id = int(runs["run"][0])
    assert link.proto.page.endswith("bills") and f"run #{run_id}" in link.proto.label
    bills = signed_in(seeded_url, monkeypatch, tmp_path, "admin", "ui/bills.py")
    bills.query_params["run"] = str(run_id)
    bills.run()
    assert not bills.exception and any(f"run #{run_id}" in i.value for i in bills.info)
    assert any(f"of {approved:,}" in c.value for c in bills.caption)  # "Bills 1-20 of N": the run's bills only
    # Running the month again: everything is skipped as already billed, nothing to create.
    at = _click(at, "Preview (dry run)")
    m = _metrics(at)
    assert m["Bills to create"] == "0" and m["Skipped: already billed"] == f"{approved:,}"
    assert any("Nothing to bill" in i.value for i in at.info)
    assert not any(b.label.startswith("Create ") for b in at.button)


def test_locked_month_refused_whole(seeded_url, monkeypatch, tmp_path):
    # A month the page offers (the last 13), locked here: the seeded November 2025 lock leaves the
    # list once the calendar moves past November 2026.
    st = storage_for(seeded_url)
    admin = st.get_user(username="admin")
    DatabaseService(st).lock_month(MONTH, "audited", actor=Actor(admin.id, admin.username, admin.role))
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(MONTH).run()
    assert any(f"{MONTH} is a locked month" in w.value for w in at.warning)
    at = _click(at, "Preview (dry run)")
    assert any(e.value.startswith("Refused:") and f"locked month {MONTH}" in e.value for e in at.error)
    assert not any(b.label.startswith("Create ") for b in at.button)


def test_changed_parameters_need_a_new_preview(seeded_url, monkeypatch, tmp_path):
    _approve_month(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(MONTH).run()
    at = _click(at, "Preview (dry run)")
    assert any(b.label.startswith("Create ") for b in at.button)
    other = next(o for o in at.selectbox(key="run_month").options if o != MONTH)
    at.selectbox(key="run_month").set_value(other).run()
    assert not any(b.label.startswith("Create ") for b in at.button)
    assert any("preview again" in c.value for c in at.caption)


# ---- the other utilities: a fixed fee bills every active account; water bills daily usage ---------
def test_municipal_run_bills_every_active_unit_of_one_area_then_the_rest(municipal_url, monkeypatch, tmp_path):
    from tests.ui.utilities import last_month

    st = storage_for(municipal_url)
    month = month_key(app_today())  # last month is billed by the fixture; this month is not
    at = signed_in(municipal_url, monkeypatch, tmp_path, "admin", PAGE)
    assert any("Bills every active consumer unit the month's fixed fee" in c.value for c in at.caption)
    hotel = st.get_account(code="MUL-000301")
    owed = st.open_balance(hotel.id)[0]  # last month's fee, part paid: carried into this month's bill
    at.selectbox(key="run_month").set_value(month)
    at.selectbox(key="run_area_1").set_value(st.get_area(path="MUL")).run()
    at = _click(at, "Preview (dry run)")
    m = _metrics(at)
    assert m == {"Bills to create": "1", "Total amount": f"Rs{5000 + owed:,.2f}", "Skipped: already billed": "0",
                 "Refused: locked month": "0"}  # no reading counts for a fixed fee
    assert any("in Multan" in x.value for x in at.markdown)
    at = _click(at, "Create 1 bill")
    assert not at.exception
    billed = st.list_bills(BillFilter(period_month=month)).items
    assert [(b.account_code, b.current_charges) for b in billed] == [("MUL-000301", Decimal("5000.00"))]
    assert at.dataframe[-1].value["area"][0] == "Multan"  # the recent runs name the area
    # The rest of the utility: the unit billed above is skipped, the two in Lahore are billed.
    at.selectbox(key="run_area_1").set_value(None).run()
    at = _click(at, "Preview (dry run)")
    assert _metrics(at)["Bills to create"] == "2" and _metrics(at)["Skipped: already billed"] == "1"
    assert st.list_bills(BillFilter(period_month=last_month().start.strftime("%Y-%m"))).total == 3


def test_water_run_bills_the_daily_usage_of_one_billing_cycle(water_url, monkeypatch, tmp_path):
    import datetime as dt

    st = storage_for(water_url)
    today = app_today()
    month = month_key(today)
    south = st.get_account(code="HS-200001")
    st.bulk_insert("daily_usage", [{"account_id": south.id, "usage_date": today.replace(day=1) + dt.timedelta(days=i),
                                    "quantity": Decimal("1.00"), "source": "import"} for i in range(2)])
    at = signed_in(water_url, monkeypatch, tmp_path, "admin", PAGE)
    assert any("Bills every customer's unbilled daily usage up to the month's end" in c.value for c in at.caption)
    assert [s.label for s in at.selectbox if s.key and s.key.startswith("run_area")] == ["Service area", "Billing cycle"]
    assert at.checkbox(key="run_estimate").label == "Estimate customers with no usage this month"
    at.selectbox(key="run_month").set_value(month)
    at.selectbox(key="run_area_1").set_value(st.get_area(path="SOUTH")).run()
    at.selectbox(key="run_area_2").set_value(st.get_area(path="SOUTH/C2")).run()
    owed = st.open_balance(south.id)[0]
    at = _click(at, "Preview (dry run)")
    # 2 CCF in tier 1 (2 x 2.50 = 5.00; a winter or spring month: x 0.9 or 1.0) + fees 15 + 5, + last month's bill
    total = _metrics(at)["Total amount"]
    assert _metrics(at)["Bills to create"] == "1" and total in (f"${owed + Decimal('24.50'):,.2f}",
                                                                f"${owed + Decimal('25.00'):,.2f}")
    at = _click(at, "Create 1 bill")
    bill = st.list_bills(BillFilter(period_month=month)).items[0]
    assert bill.account_code == "HS-200001" and bill.units == Decimal("2.00") and f"${bill.total_amount:,.2f}" == total
    # the days charged: from the period start to the last day with usage (a later day is still open for usage)
    assert (bill.usage_from, bill.usage_to) == (bill.billing_period_start, today.replace(day=1) + dt.timedelta(days=1))


def test_an_estimating_run_bills_the_flats_with_no_reading(seeded_url, monkeypatch, tmp_path):
    """December has no reading yet: ticked, the dry run counts estimates and the run stores them, marked;
    unticked, there is nothing to bill. The bill page says the bill is estimated and why."""
    _approve_month(seeded_url)
    st = storage_for(seeded_url)
    month = month_key(app_today())
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(month).run()
    at = _click(at, "Preview (dry run)")
    assert _metrics(at)["Bills to create"] == "0" and "Estimated (no reading)" not in _metrics(at)
    at.checkbox(key="run_estimate").check().run()
    assert any("preview again" in c.value for c in at.caption)  # ticking it changes the run offered
    at = _click(at, "Preview (dry run)")
    m = _metrics(at)
    estimated = int(m["Estimated (no reading)"].replace(",", ""))
    assert estimated > 0 and m["Bills to create"] == f"{estimated:,}"
    assert st.list_bills(BillFilter(period_month=month)).total == 0
    at = _click(at, f"Create {estimated:,} bill")
    assert not at.exception
    bills = st.list_bills(BillFilter(period_month=month), 0, 5).items
    assert st.list_bills(BillFilter(period_month=month)).total == estimated
    assert all(b.tariff_details["estimate"]["estimated"] and b.first_reading_id is None for b in bills)
    view = signed_in(seeded_url, monkeypatch, tmp_path, "admin", "ui/bills.py")
    view.query_params["bill"] = str(bills[0].id)
    view.run()
    assert not view.exception
    assert any("Estimated bill" in x.value and "a day" in x.value for x in view.warning)


def test_a_water_run_estimates_customers_with_no_usage_and_the_bill_says_why(water_url, monkeypatch, tmp_path):
    """Last month's usage (30-31 days) is the basis; this month has none yet: ticked, every customer
    is estimated, and the bill page explains the figure in usage, with the seasonal factor."""
    st = storage_for(water_url)
    month = month_key(app_today())
    at = signed_in(water_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(month).run()
    at.checkbox(key="run_estimate").check().run()
    at = _click(at, "Preview (dry run)")
    m = _metrics(at)
    assert m["Estimated (no usage)"] == "3" and m["Bills to create"] == "3"
    at = _click(at, "Create 3 bill")
    assert not at.exception
    bill = st.list_bills(BillFilter(period_month=month), 0, 5).items[0]
    assert bill.tariff_details["estimate"]["season_factor"] == "1.0000" and bill.usage_from is None
    view = signed_in(water_url, monkeypatch, tmp_path, "admin", "ui/bills.py")
    view.query_params["bill"] = str(bill.id)
    view.run()
    assert not view.exception
    assert any("no usage this month" in x.value and "for the season" in x.value for x in view.warning)
