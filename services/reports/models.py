"""The collection and arrears-aging reports (issue 14, seed 003 phase 3): their rows and definitions.

Collection of a bill month, per area (city/tehsil, or union council):
- bills: the month's bills (their period starts in the month), replaced and cancelled bills left out;
- billed: what those bills charge for the month (total less the arrears they carry);
- due: their totals (the month's charges plus the arrears carried into them);
- collected: what has been paid on them so far;
- collection rate = collected / due: the share of what the month's bills ask for that was paid.
- payment status, as staff know it: PAID (paid in full), PARTIAL (something paid, not all),
  ARREARS (nothing paid, and the bill carries arrears of earlier months, or its own balance was
  carried into a newer bill), UNPAID (nothing paid, no arrears).

Arrears aging, as of a date, per area: the open balance of every open bill (pending, overdue, part
paid), by the days since its due date: not yet due, 0-30, 31-90, 91-180 and over 180 days. Each
unpaid amount is counted once: an older bill's balance carried into a newer bill is that bill's.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

STATUSES = ("PAID", "PARTIAL", "ARREARS", "UNPAID")
AGING_BUCKETS = ("not_due", "d0_30", "d31_90", "d91_180", "d180_plus")
AGING_LABELS = {"not_due": "not yet due", "d0_30": "0-30 days", "d31_90": "31-90 days", "d91_180": "91-180 days",
                "d180_plus": "over 180 days"}


@dataclass(frozen=True)
class CollectionRow:
    area_id: int | None
    area_path: str
    area_name: str
    bills: int
    billed: Decimal
    due: Decimal
    collected: Decimal
    paid: int
    partial: int
    arrears: int
    unpaid: int

    @property
    def rate(self) -> Decimal | None:
        """collected / due, as a percentage with 1 decimal (None when nothing is due)."""
        if not self.due:
            return None
        return (self.collected * 100 / self.due).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class AgingRow:
    area_id: int | None
    area_path: str
    area_name: str
    bills: int
    not_due: Decimal
    d0_30: Decimal
    d31_90: Decimal
    d91_180: Decimal
    d180_plus: Decimal

    @property
    def total(self) -> Decimal:
        return self.not_due + self.d0_30 + self.d31_90 + self.d91_180 + self.d180_plus
