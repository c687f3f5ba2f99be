"""Tariff plans for people (ui/tariff_plans.py): each kind's parameters as tables, and the figures
an admin may change in a new version. Display and form plumbing only: plans are parsed, checked
and priced by services/tariffs, and stored by DatabaseService.add_tariff_plan_version.

The figures are edited as text exactly as stored ("2.50"), put back into the kind's parameters as
they are dumped (charge_model(kind).dump_params), and parsed again by TariffPlan.with_new_version,
so an edited plan is checked by the same rules as a plan file. What can be changed here is the
figures (rates, bounds, multipliers, fees); the shape of a plan (adding a tier, a season, a fee
row) is a new plan file.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

import streamlit as st

from services.tariffs import charge_model
from ui import widgets as w


@dataclass(frozen=True)
class Figure:
    path: tuple  # where it sits in the dumped parameters: ("tiers", 0, "rate")
    label: str  # what the form calls it: "Tier 1 rate"
    value: str  # as stored: "2.50"

    @property
    def error_key(self) -> str:
        """How a PlanError names it inside the parameters: tiers[0].rate, default_fees.Small."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


def _table(rows: list[dict]) -> None:
    st.dataframe(rows, hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)  # every row, no inner scroll


def show_params(plan, version) -> None:
    """One version's parameters, readable: tiers, seasons and fees; the fee schedule; rate rules."""
    p = version.params
    if plan.kind == "tiered_seasonal":
        unit, lower, rows = plan.unit, None, []
        for i, t in enumerate(p.tiers, 1):
            rows.append({"tier": f"Tier {i}", "from": w.qty(lower or 0, unit),
                         "up to": w.qty(t.up_to, unit) if t.up_to is not None else "and above",
                         "rate": w.rate(t.rate, unit)})
            lower = t.up_to
        st.markdown("**Usage tiers**: graduated, each tier's units at its own rate")
        _table(rows)
        st.markdown("**Seasons**: a multiplier on the usage charges, by the month the billing period ends")
        _table([{"season": s.name, "months": ", ".join(calendar.month_abbr[m] for m in s.months),
                 "multiplier": f"x {w.num(s.multiplier)}"} for s in p.seasons])
        st.markdown("**Monthly fees**: once per bill, never multiplied")
        if p.fees:
            _table([{"fee": f.label, "amount": w.money(f.amount)} for f in p.fees])
        else:
            st.caption("No fees.")
    elif plan.kind == "category_fee":
        st.markdown(f"**{w.esc(p.fee_label)}**: a fixed monthly fee by category and unit type; a unit type "
                    "without its own row pays its category's default fee")
        if p.default_fees:
            _table([{"category": c, "default fee": w.money(f)} for c, f in p.default_fees])
        _table([{"category": r.category, "unit type": r.unit_type, "fee": w.money(r.fee)} for r in p.schedule])
    elif plan.kind == "flat_rate":
        unit = plan.unit
        rows = [("Default rate", w.rate(p.default_rate, unit)),
                ("Default fixed charge", w.money(p.default_fixed_charge) + " a month"),
                ("Rate and fixed charge from the master data spreadsheet", "yes" if p.master_data else "no")]
        if p.special_rate is not None:
            rows += [("Special rate (no fixed charge)", w.rate(p.special_rate, unit)),
                     (f"Special {w.word(plural=True)}", ", ".join(p.special_accounts) or "none")]
        _table([{"rule": a, "value": b} for a, b in rows])
        if p.fixed_charge_by_bhk:
            st.markdown("**Fixed charge by type** (overrides the base fixed charge)")
            _table([{"type": f"{bhk}BHK", "fixed charge": w.money(a)} for bhk, a in p.fixed_charge_by_bhk])
    else:  # a kind this page does not know yet: its parameters as stored
        st.json(charge_model(plan.kind).dump_params(p))


def figures(plan) -> list[Figure]:
    """The figures of the plan's latest version an admin may change, with their labels."""
    p, unit, sym = plan.latest.params, plan.unit, w.currency_symbol()
    per = f" ({sym}/{unit})" if unit else f" ({sym})"
    out: list[Figure] = []
    if plan.kind == "tiered_seasonal":
        for i, t in enumerate(p.tiers):
            if t.up_to is not None:
                out.append(Figure(("tiers", i, "up_to"), f"Tier {i + 1} up to ({unit})", str(t.up_to)))
            out.append(Figure(("tiers", i, "rate"), f"Tier {i + 1} rate{per}", str(t.rate)))
        out += [Figure(("seasons", i, "multiplier"), f"{s.name} multiplier", str(s.multiplier))
                for i, s in enumerate(p.seasons)]
        out += [Figure(("fees", i, "amount"), f"{f.label} ({sym})", str(f.amount)) for i, f in enumerate(p.fees)]
    elif plan.kind == "category_fee":
        out += [Figure(("default_fees", c), f"{c}: default fee ({sym})", str(f)) for c, f in p.default_fees]
        out += [Figure(("schedule", i, "fee"), f"{r.category}, {r.unit_type} ({sym})", str(r.fee))
                for i, r in enumerate(p.schedule)]
    elif plan.kind == "flat_rate":
        out.append(Figure(("default_rate",), f"Default rate{per}", str(p.default_rate)))
        out.append(Figure(("default_fixed_charge",), f"Default fixed charge ({sym})", str(p.default_fixed_charge)))
        if p.special_rate is not None:
            out.append(Figure(("special_rate",), f"Special rate{per}", str(p.special_rate)))
        out += [Figure(("fixed_charge_by_bhk", f"{bhk}BHK"), f"{bhk}BHK fixed charge ({sym})", str(a))
                for bhk, a in p.fixed_charge_by_bhk]
    return out


def edited_params(plan, values: dict[tuple, str]) -> dict:
    """The latest version's parameters as stored, with the figures typed in the form."""
    params = charge_model(plan.kind).dump_params(plan.latest.params)
    for path, text in values.items():
        node = params
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = text.strip()
    return params


_VERSION_PREFIX = re.compile(r"^versions\[\d+\]\.?")


def field_label(key: str, figs: list[Figure], effective_label: str) -> str:
    """The form's name for the field a PlanError names (versions[2].params.tiers[0].rate -> Tier 1 rate)."""
    rest = _VERSION_PREFIX.sub("", key)
    if rest == "effective_from":
        return effective_label
    if rest == "params":
        return "Figures"
    rest = rest.removeprefix("params.")
    for f in figs:
        if f.error_key == rest:
            return f.label
    return rest.replace("_", " ") or key
