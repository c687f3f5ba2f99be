"""A month run's manifest and its diff against the previous month (docs/trust.md). Pure rules.

The manifest says what a run (dry or real) bills: counts, units and amounts per area and category,
what it skipped and why. A dry run also gets the diff against the previous month's bills: accounts
new (billed now, not last month) or missing (billed last month, not now), the total per area up or
down, and the MOVERS biggest changes per account with their reason (units, tier, arrears).

The builder sees the run a priced batch at a time (bill_run's on_batch) and keeps only sums per
(area, category) and a heap of the MOVERS biggest changes: nothing per account survives a batch.
The previous month's bills of each batch's account range come from `previous(lo, hi)`, a function
the storage part supplies (one range query per batch).
"""
from __future__ import annotations

import csv
import heapq
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

MOVERS = 20
SAMPLE = 20  # new / missing accounts listed by code (all are counted)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PreviousBill:
    """Last month's bill of an account, as the diff needs it."""

    account_id: int
    account_code: str
    area_id: int
    bill_id: int
    units: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal


def top_tier(lines) -> str | None:
    """The highest usage block a bill reaches ('tier_3'), or None for a plan without tiers."""
    tiers = [ln.code for ln in lines if ln.code.startswith("tier_")]
    return max(tiers, key=lambda c: int(c.split("_")[1]) if c.split("_")[1].isdigit() else 0) if tiers else None


def reason(prev: PreviousBill | None, units, arrears, tier: str | None, prev_tier: str | None,
           estimate: dict | None = None) -> str:
    if prev is None:
        return "new: no bill last month"
    parts = []
    if estimate and estimate.get("estimated"):
        parts.append("estimated: no reading this month")
    elif estimate:
        parts.append(f"actual {estimate.get('actual_units')} less {estimate.get('deducted_units')} billed on estimates")
    if units != prev.units:
        parts.append(f"units {_n(prev.units)} -> {_n(units)}")
    if tier != prev_tier and (tier or prev_tier):
        parts.append(f"tier {prev_tier or 'none'} -> {tier or 'none'}")
    if arrears != prev.previous_outstanding:
        parts.append(f"arrears {_n(prev.previous_outstanding)} -> {_n(arrears)}")
    return "; ".join(parts) or "same units and arrears (a tariff change)"


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f") if isinstance(d, Decimal) else str(d)


@dataclass
class ManifestBuilder:
    diff: bool  # compare each batch with the previous month's bills (dry runs)
    previous: Callable[[int, int | None], list[PreviousBill]] | None = None
    groups: dict = field(default_factory=dict)  # (area_id, category) -> [bills, units, amount]
    new_count: int = 0
    missing_count: int = 0
    new_sample: list = field(default_factory=list)
    missing_sample: list = field(default_factory=list)
    movers: list = field(default_factory=list)  # heap of (abs change, account_id, row)
    _after: int = 0

    def add(self, priced) -> None:
        """One priced batch (NewBill list, in account order)."""
        for nb in priced:
            g = self.groups.setdefault((nb.area_id, nb.category or ""), [0, ZERO, ZERO])
            g[0] += 1
            g[1] += nb.total_units
            g[2] += nb.total_amount
        if self.diff and self.previous is not None and priced:
            hi = max(nb.account_id for nb in priced)
            self._compare(priced, self.previous(self._after, hi))
            self._after = hi

    def finish(self) -> None:
        """The accounts after the last batch that were billed last month are missing now."""
        if self.diff and self.previous is not None:
            self._compare([], self.previous(self._after, None))

    def _compare(self, priced, before: list[PreviousBill]) -> None:
        prev = {p.account_id: p for p in before}
        now_ids = set()
        for nb in priced:
            now_ids.add(nb.account_id)
            p = prev.get(nb.account_id)
            if p is None:
                self.new_count += 1
                if len(self.new_sample) < SAMPLE:
                    self.new_sample.append(nb.account_id)
                continue
            change = nb.total_amount - p.total_amount
            row = {"account_id": nb.account_id, "account": p.account_code, "area_id": nb.area_id,
                   "previous": p.total_amount, "now": nb.total_amount, "change": change,
                   "units": (p.units, nb.units), "arrears": (p.previous_outstanding, nb.previous_outstanding),
                   "tier": top_tier(nb.lines), "previous_bill_id": p.bill_id,
                   "estimate": (nb.tariff_details or {}).get("estimate")}
            item = (abs(change), -nb.account_id, row)
            if len(self.movers) < MOVERS:
                heapq.heappush(self.movers, item)
            elif item[:2] > self.movers[0][:2]:
                heapq.heapreplace(self.movers, item)
        for p in before:
            if p.account_id not in now_ids:
                self.missing_count += 1
                if len(self.missing_sample) < SAMPLE:
                    self.missing_sample.append(p.account_code)


@dataclass
class Manifest:
    """What is saved with the run (as JSON) and shown/downloaded."""

    data: dict

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True, default=str)

    def to_csv(self) -> str:
        """One table: a row per area and category, then the per-area diff and the movers (section column)."""
        out = io.StringIO()
        wr = csv.writer(out)
        wr.writerow(["section", "area", "category", "account", "bills", "units", "amount", "previous", "change", "reason"])
        for g in self.data.get("groups", []):
            wr.writerow(["bills", g["area"], g["category"], "", g["bills"], g["units"], g["amount"], "", "", ""])
        for k, v in self.data.get("skipped", {}).items():
            wr.writerow(["skipped", "", "", "", v, "", "", "", "", k])
        diff = self.data.get("diff") or {}
        for a in diff.get("areas", []):
            wr.writerow(["area_change", a["area"], "", "", "", "", a["now"], a["previous"], a["change"], ""])
        for mv in diff.get("movers", []):
            wr.writerow(["mover", mv["area"], "", mv["account"], "", "", mv["now"], mv["previous"], mv["change"],
                         mv["reason"]])
        return out.getvalue()
