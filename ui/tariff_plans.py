"""Admin: the utility's tariff plans.

Each stored plan with its versions (the one in effect today, those scheduled, those replaced) and
each version's parameters in readable form (ui/plan_views.py); a preview calculator (a quantity,
a category and unit type, a month -> the lines and total the plan gives: DatabaseService.
preview_tariff, nothing stored); and an editor: change figures, see the edited plan priced by the
same calculator BEFORE saving (TariffPlan.with_new_version builds it without storing), pick the
date it takes effect, and save it as a new version (DatabaseService.add_tariff_plan_version,
audited). Versions stored before never change, so every bill keeps the prices that made it. A bad
figure is refused naming the field, and nothing is stored.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import streamlit as st

from services.accounts.roles import Permission
from services.billing.periods import BillingPeriod
from services.errors import MeterlineError, ValidationError
from ui import plan_views as pv
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

FLASH = "tp_flash"
EFFECTIVE = "Takes effect on"

actor = page_guard(Permission.MANAGE_MASTER_DATA)
db = services().db
u = utility()
today = db.today()

st.title(":material/price_change: Tariff plans")
plans = db.tariff_plans()
if not plans:
    st.info("No tariff plan is stored yet: set the utility up first (python -m scripts.seed_demo).")
    st.stop()
stored = plans[0] if len(plans) == 1 else st.selectbox(
    "Plan", plans, key="tp_plan", format_func=lambda sp: f"{sp.plan.name} ({sp.plan.code})")
plan = stored.plan
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")
st.markdown(f"**{w.esc(plan.name)}** · `{plan.code}` · {w.plan_kind(plan.kind)} · {w.esc(plan.service)} · "
            + (f"billed per {plan.unit}" if plan.unit else "a fixed fee, nothing metered") + f" · {plan.currency}")
if plan.notes:
    st.caption(w.esc(plan.notes))


# ---- versions -------------------------------------------------------------------------------
def _state(version) -> str:
    later = [x for x in plan.versions if x.effective_from <= today]
    if version.effective_from > today:
        return "scheduled"
    return "in effect" if later and later[-1] is version else "replaced"


st.subheader("Versions")
st.dataframe([{"version": x.version, "effective from": x.effective_from.isoformat(), "state": _state(x),
               "notes": x.notes or ""} for x in reversed(plan.versions)], hide_index=True, width="stretch")
for version in reversed(plan.versions):
    with st.expander(f"Version {version.version}, from {version.effective_from} ({_state(version)})",
                     expanded=_state(version) == "in effect"):
        pv.show_params(plan, version)


# ---- the calculator ---------------------------------------------------------------------------
def _month_end(day: dt.date) -> dt.date:
    return BillingPeriod.for_month(day).end


def _calculator_inputs() -> tuple[dict, dt.date, str | None]:
    """The calculator's inputs for DatabaseService.preview_tariff (without period_end), the month's
    end, and what is missing before a quote can be made (None: ready)."""
    p = plan.latest.params
    kw: dict = {}
    missing = None
    c1, c2, c3 = st.columns(3)
    end = _month_end(c1.date_input("Month billed (any day of it)", value=today, format="YYYY-MM-DD", key="tp_month",
                                   help="A plan prices a month by the version in effect on its last day; the "
                                        "season is that day's month."))
    if plan.unit:
        quantity = c2.text_input(f"Quantity ({plan.unit})", key="tp_quantity", placeholder="e.g. 25")
        kw["quantity"] = quantity.strip() or None
        missing = None if quantity.strip() else f"Enter a quantity in {plan.unit}."
    if plan.kind == "category_fee":
        category = c2.selectbox("Category", p.categories, key="tp_category")
        types = p.unit_types(category)
        unit_type = c3.selectbox("Unit type", [None, *types], key=f"tp_unit_type_{category}",
                                 format_func=lambda t: "Any other (the default fee)" if t is None else t)
        kw.update(category=category, unit_type=unit_type)
    elif plan.kind == "flat_rate":
        kw["unit_type"] = c3.text_input(f"{w.word(capital=True)} type", key="tp_unit_type", placeholder="e.g. 2BHK")
        c4, c5 = st.columns(2)
        kw["account_code"] = c4.text_input(f"{w.word(capital=True)} code (optional)", key="tp_account",
                                           help="Applies the master data and the special rate of that code.")
        kw["shared_units"] = c5.text_input(f"Shared meter units ({plan.unit})", key="tp_shared", value="0")
    prev = st.text_input(f"Previous outstanding ({w.currency_symbol()})", value="0", key="tp_prev",
                         help="Arrears carried in: added as a line of its own.")
    kw["previous_outstanding"] = prev.strip() or "0"
    return kw, end, missing


def _show_quote(target, priced_plan, kw: dict, end: dt.date, title: str):
    """Price `priced_plan` (stored, or edited and unsaved) into `target`; the quote, or None when refused."""
    try:
        q = db.preview_tariff(priced_plan, period_end=end, **kw)
    except MeterlineError as exc:
        with target:
            show_error(exc)
        return None
    version = priced_plan.version(q.plan_version)
    target.markdown(f"**{title}**: version {version.version} (from {version.effective_from}), "
                    f"{end:%B %Y}: **{w.money(q.total_amount)}**")
    w.lines_table(w.line_rows(q.lines, q.total_amount), target)
    return q


st.subheader("Preview calculator")
with st.container(border=True):
    calc, calc_end, missing = _calculator_inputs()
    if missing:
        st.info(missing, icon=":material/calculate:")
    else:
        _show_quote(st.container(), plan, calc, calc_end, "Stored plan")


# ---- editing: a new version --------------------------------------------------------------------
latest = plan.latest
figs = pv.figures(plan)
st.subheader(f"Edit: version {latest.version + 1}")
st.caption(f"Change the figures of version {latest.version} below and check the preview: nothing is stored until "
           f"you save. Saving adds version {latest.version + 1}, in effect from the date you choose; the versions "
           "before it never change, so every bill keeps the prices that made it.")
with st.container(border=True):
    prefix = f"tp_edit_{plan.code}_{latest.version}"  # fresh inputs after a save (a new latest version)
    values: dict[tuple, str] = {}
    for i, fig in enumerate(figs):
        if i % 3 == 0:  # a row of three at a time, so a phone stacks them in reading order
            cols = st.columns(3)
        values[fig.path] = cols[i % 3].text_input(fig.label, value=fig.value, key=f"{prefix}_{fig.error_key}")
    first_free = max(latest.effective_from + dt.timedelta(days=1), today)
    default_from = BillingPeriod.for_month(first_free).start
    if default_from < first_free:
        default_from = _month_end(first_free) + dt.timedelta(days=1)
    c1, c2 = st.columns([1, 2])
    effective = c1.date_input(EFFECTIVE, value=default_from, format="YYYY-MM-DD", key=f"{prefix}_from",
                              help=f"After version {latest.version}'s {latest.effective_from}. A month is priced by "
                                   "the version in effect on its last day.")
    notes = c2.text_input("Notes (why the prices change)", key=f"{prefix}_notes", max_chars=500)
    months = [_month_end(effective)]
    for _ in range(11):
        months.append(_month_end(months[-1] + dt.timedelta(days=1)))
    preview_end = st.selectbox("Preview the edited plan for the month ending", months, key=f"{prefix}_preview_{effective}",
                               format_func=lambda d: f"{d:%B %Y}")

    params = pv.edited_params(plan, values)
    changed = any(values[f.path].strip() != f.value for f in figs)
    edited = None
    if not changed:
        st.caption("Change a figure to preview the edited plan here.")
    else:
        try:
            edited = plan.with_new_version(params, effective, notes.strip() or None)
        except ValidationError as exc:
            label = pv.field_label(exc.field, figs, EFFECTIVE)
            st.error(f"**{label}**: {exc.message}" + (f" {exc.fix}" if exc.fix else "") + " Nothing is stored.",
                     icon=":material/error:")
    if edited is not None and not missing:
        left, right = st.columns(2)
        now = _show_quote(left, plan, calc, preview_end, "Now")
        then = _show_quote(right, edited, calc, preview_end, "Edited")
        if now and then:
            change = then.total_amount - now.total_amount
            st.caption(f"The edit changes this bill by {'+' if change > 0 else ''}{w.money(change)}"
                       + (f" ({(change / now.total_amount * 100).quantize(Decimal('0.1')):+}%)." if now.total_amount
                          else "."))
    elif edited is not None:
        st.caption("Enter the calculator's inputs above to preview the edited plan.")

    if st.button(f"Save as version {latest.version + 1}", type="primary", icon=":material/save:", key="tp_save",
                 disabled=not changed):
        try:
            saved = db.add_tariff_plan_version(plan.code, params, effective, notes.strip() or None, actor=actor)
        except ValidationError as exc:
            st.error(f"**{pv.field_label(exc.field, figs, EFFECTIVE)}**: {exc.message}"
                     + (f" {exc.fix}" if exc.fix else "") + " Nothing was stored.", icon=":material/block:")
        except MeterlineError as exc:
            show_error(exc)
        else:
            new = saved.plan.latest
            st.session_state[FLASH] = (f"Saved version {new.version} of {plan.name}, in effect from "
                                       f"{new.effective_from}. Bills for months ending before then keep version "
                                       f"{new.version - 1}'s prices.")
            st.rerun()
