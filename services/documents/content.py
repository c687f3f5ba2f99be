"""What a bill's or a receipt's PDF says, as plain text (pure: no PDF library, no storage).

Everything is worded and formatted in the utility's terms (services/accounts/utility.py): its name,
its word for an account, its area levels, its currency and number format. Amounts are formatted
from their exact Decimals. services/documents/render.py lays these out on a page.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from services.accounts.utility import UtilitySettings
from services.billing.estimates import is_estimated
from services.models import Area, Bill, BillLine, BillParts, Payment

SERVICE_TITLES = {"electricity": "Electricity bill", "water": "Water bill", "sanitation": "Sanitation fee bill"}
CHART_MONTHS = 12
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def bill_psid(bill: Bill) -> str | None:
    """The bill's PSID (the Payment Slip ID banks collect it by, services/billing/psid.py), stored on
    every bill when it is stored (`bills.psid`); None for a bill stored before PSIDs. The PDF prints
    it with a barcode when present."""
    value = getattr(bill, "psid", None)
    return str(value).strip() or None if value else None


def day(d: dt.date | None) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}" if d else "-"


def rate_text(rate: Decimal | None) -> str:
    if rate is None:
        return ""
    q = rate.normalize()
    return f"{q:f}" if q.as_tuple().exponent >= -4 else f"{rate:.4f}"


@dataclass(frozen=True)
class LineRow:
    label: str
    quantity: str
    rate: str
    amount: str


@dataclass(frozen=True)
class ChartBar:
    label: str  # "Oct"
    value: Decimal
    current: bool  # this bill's month


@dataclass(frozen=True)
class BillDocument:
    bill_id: int
    number: str
    utility_name: str
    title: str
    issued: str
    status_note: str | None  # a re-issue, replaced, paid ...
    account_word: str  # "Flat"
    account_code: str
    customer: str
    address: str | None
    area: str  # "Block B · First Floor"
    period: str
    due: str
    lines: tuple[LineRow, ...]
    total: str
    paid: str | None
    balance: str
    basis_title: str  # "Readings" / "Usage" / "Fixed fee"
    basis: tuple[tuple[str, ...], ...]  # rows of the readings table, or one sentence as a 1-tuple
    basis_header: tuple[str, ...] = ()
    chart_title: str = ""
    chart: tuple[ChartBar, ...] = ()
    pay_url: str | None = None
    psid: str | None = None
    pay_lines: tuple[str, ...] = ()
    footer: str = ""
    text_lines: tuple[str, ...] = field(default=(), repr=False)


def area_text(area_id: int | None, areas: dict[int, Area], levels: tuple[str, ...]) -> str:
    """The bill's area and its parents by name, top first: "Block B · First Floor"."""
    out = []
    node = areas.get(area_id) if area_id is not None else None
    while node is not None:
        out.append(node.name)
        node = areas.get(node.parent_id) if node.parent_id else None
    return " · ".join(reversed(out))


def _status_note(bill: Bill, parts: BillParts, unit: str | None = None) -> str | None:
    notes = []
    est = (bill.tariff_details or {}).get("estimate") or {}
    if est.get("estimated") and "season_factor" in est:  # daily usage (water)
        notes.append("ESTIMATED BILL: no usage was measured this month. When it is, your next bill corrects it: it "
                     "charges what you actually used less what this one charged.")
    elif est.get("estimated"):
        notes.append("ESTIMATED BILL: no meter reading this month. Your next actual reading corrects it: that bill "
                     "charges what you actually used less what this one charged.")
    elif est:
        since = f"from {day(bill.usage_from)} to {day(bill.usage_to)}" if bill.usage_from else "since its last reading"
        notes.append(f"This bill charges the {est.get('actual_units')} {unit or ''} your meter measured {since}, "
                     f"less {est.get('deducted_units')} {unit or ''} already billed on estimated bills."
                     .replace("  ", " "))
    if bill.reissue_of:
        notes.append(f"This bill replaces bill {parts.replaces_number or '#' + str(bill.reissue_of)}.")
    if bill.status == "superseded":
        notes.append(f"Replaced by bill {parts.replaced_by_number or '#' + str(bill.superseded_by)}: do not pay this one.")
    elif bill.status == "carried_forward":
        notes.append(f"Its balance was carried forward to bill #{bill.carried_forward_to}.")
    elif bill.status == "cancelled":
        notes.append("Cancelled: nothing is due.")
    elif bill.status == "paid":
        notes.append("Paid in full. Thank you.")
    return " ".join(notes) or None


def bill_document(bill: Bill, parts: BillParts, u: UtilitySettings, areas: dict[int, Area],
                  issued_on: dt.date | None = None) -> BillDocument:
    """The document of one bill (its lines, what it was based on, 12 months of history, how to pay)."""
    unit = u.quantity_unit
    lines = parts.lines or _column_lines(bill, unit)
    rows = tuple(LineRow(ln.label, f"{u.number(ln.quantity)} {ln.unit or ''}".strip() if ln.quantity is not None else "",
                         rate_text(ln.rate), u.money(ln.amount)) for ln in lines)
    if parts.readings:
        basis_title = "Meter readings"
        basis_header = ("Date", "Meter", "Reading", "Units billed")
        basis = tuple((day(r.reading_date), r.meter_number or "", u.number(r.reading_value),
                       f"{u.number(r.units)} {r.unit or unit or ''}".strip()) for r in parts.readings)
    elif is_estimated(bill.tariff_details):
        e = bill.tariff_details["estimate"]
        basis_title, basis_header = "Estimated usage", ()
        span = f"{day(dt.date.fromisoformat(e['basis_from']))} to {day(dt.date.fromisoformat(e['basis_to']))}"
        if "season_factor" in e:  # daily usage (water)
            text = (f"{e['daily']} {unit or ''} a day: you used {e['basis_units']} {unit or ''} on the {e['basis_days']} "
                    f"days with usage from {span}, x {e['season_factor']} for the season (your step into this month "
                    f"last year) = {e['daily']} a day, x {e['days']} days = {u.quantity(bill.units)}.")
        else:
            text = (f"{e['daily']} {unit or ''} a day (your readings used {e['basis_units']} {unit or ''} in the "
                    f"{e['basis_days']} days from {span}) x {e['days']} days = {u.quantity(bill.units)}.")
        basis = ((text.replace("  ", " "),),)
    elif bill.usage_from:
        basis_title, basis_header = "Usage", ()
        basis = ((f"Daily usage from {day(bill.usage_from)} to {day(bill.usage_to)}: {u.quantity(bill.units)}.",),)
    elif unit is None:
        basis_title, basis_header = "Fixed fee", ()
        what = " / ".join(x for x in (bill.category, bill.pricing_rule if bill.tariff_kind != "category_fee" else None) if x)
        basis = ((f"A fixed monthly fee{f' ({what})' if what else ''}: nothing is metered.",),)
    else:
        basis_title, basis_header = "Usage", ()
        basis = ((f"{u.quantity(bill.total_units)} billed.",),)
    metered = unit is not None
    by_month = {p.month: (p.quantity if metered else p.charges) for p in parts.history}
    start = bill.billing_period_start
    months = [(start.year * 12 + start.month - 1 - back) for back in range(CHART_MONTHS - 1, -1, -1)]
    chart = tuple(ChartBar(MONTHS[k % 12], by_month.get(f"{k // 12:04d}-{k % 12 + 1:02d}", Decimal("0")), back == 0)
                  for back, k in zip(range(CHART_MONTHS - 1, -1, -1), months))
    chart_title = (f"Your usage, last {CHART_MONTHS} months ({unit})" if metered
                   else f"Your bills, last {CHART_MONTHS} months ({u.currency})")
    psid = bill_psid(bill)
    pay_url = bill.payment_link_url if bill.balance > 0 and bill.status in ("pending", "partially_paid", "overdue") \
        else None
    pay = []
    if bill.status in ("pending", "partially_paid", "overdue") and bill.balance > 0:
        if pay_url:
            pay.append("Pay online: scan the code or open the link below.")
            pay.append(pay_url)
        if psid:
            pay.append(f"Pay at any bank, mobile or internet banking with PSID {psid}.")
        pay.append(f"{'Or pay' if pay else 'Pay'} at the {u.name} office, quoting bill {bill.number} and "
                   f"{u.account_label} {bill.account_code}.")
    issued = issued_on or (bill.created_at.astimezone(u.zone).date() if bill.created_at else None)
    doc = BillDocument(
        bill_id=bill.id, number=bill.number, utility_name=u.name, title=SERVICE_TITLES.get(bill.service, "Bill")
        + (" (estimated)" if is_estimated(bill.tariff_details) else ""),
        issued=day(issued), status_note=_status_note(bill, parts, unit), account_word=u.label(capital=True),
        account_code=bill.account_code or f"#{bill.account_id}",
        customer=bill.contact_name or parts.account_name or "", address=parts.address,
        area=area_text(bill.area_id, areas, u.area_levels) or (bill.area_path or ""),
        period=f"{day(bill.billing_period_start)} to {day(bill.billing_period_end)}", due=day(bill.due_date),
        lines=rows, total=u.money(bill.total_amount),
        paid=u.money(bill.amount_paid) if bill.amount_paid else None,
        balance=u.money(bill.balance if bill.status != "superseded" else Decimal("0")),
        basis_title=basis_title, basis=basis, basis_header=basis_header, chart_title=chart_title, chart=chart,
        pay_url=pay_url, psid=psid, pay_lines=tuple(pay),
        footer=f"{u.name} · bill {bill.number} · {u.label(capital=True)} {bill.account_code or ''}")
    return doc


def _column_lines(bill: Bill, unit: str | None) -> tuple[BillLine, ...]:
    """A bill stored before bills had lines: its columns are its lines."""
    from services.money import round_money

    return (BillLine(1, "energy", "Usage", round_money(bill.energy_charge), bill.total_units, unit, bill.rate_per_unit),
            BillLine(2, "fixed", "Fixed charge", bill.fixed_charge),
            BillLine(3, "arrears", "Previous outstanding", bill.previous_outstanding))


@dataclass(frozen=True)
class ReceiptDocument:
    payment_id: int
    number: str  # "R-000123": the payment's id
    utility_name: str
    received_from: str
    account_word: str
    account_code: str
    bill_number: str
    period: str
    amount: str
    paid_on: str
    method: str
    reference: str | None
    bill_total: str
    bill_balance: str
    note: str | None
    footer: str


def receipt_document(payment: Payment, bill: Bill, u: UtilitySettings) -> ReceiptDocument:
    """A receipt for one payment on a bill (its balance as it stands now)."""
    method = payment.method.replace("_", " ")
    note = None
    if payment.credit_from_bill:
        method = "credit"
        note = f"Moved from bill #{payment.credit_from_bill}, which this bill replaced: paid there, not paid twice."
    return ReceiptDocument(
        payment_id=payment.id, number=f"R-{payment.id:06d}", utility_name=u.name,
        received_from=bill.contact_name or "", account_word=u.label(capital=True),
        account_code=bill.account_code or f"#{bill.account_id}", bill_number=bill.number,
        period=f"{day(bill.billing_period_start)} to {day(bill.billing_period_end)}",
        amount=u.money(payment.amount), paid_on=day(payment.paid_on), method=method, reference=payment.reference,
        bill_total=u.money(bill.total_amount), bill_balance=u.money(max(bill.balance, Decimal("0"))), note=note,
        footer=f"{u.name} · receipt R-{payment.id:06d} for bill {bill.number}")
