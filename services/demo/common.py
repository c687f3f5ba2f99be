"""What the demo generators share: area and contact records, per-index randomness, and the
payment behaviour the seeding script replays after each month's bill run. Pure: no I/O."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal

_MASK64 = (1 << 64) - 1


def seeded(salt: int, index: int) -> random.Random:
    """The random stream of one record. (salt, index) -> seed is injective for index < 2**32, so
    two records (or two purposes of one record, told apart by salt) never share a stream."""
    if not 0 <= index < 1 << 32:
        raise ValueError(f"index {index} is out of range 0..2**32-1")
    return random.Random((salt << 32) | index)


def mix64(a: int, b: int) -> int:
    """A 64-bit hash of two integers (splitmix64 finaliser): cheap per-day noise keyed by
    (record, day), so any day range of a record's history is generated alone."""
    x = (a * 0x9E3779B97F4A7C15 + b + 0x632BE59BD9B4E019) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def unit_pair(a: int, b: int) -> tuple[float, float]:
    """Two independent uniforms in [0, 1) from one hash."""
    h = mix64(a, b)
    return (h >> 32) / 4294967296.0, (h & 0xFFFFFFFF) / 4294967296.0


@dataclass(frozen=True)
class DemoArea:
    """One node of the area hierarchy (DESIGN12 `areas`): level 1 at the top, accounts sit in
    leaves. Municipal union councils carry a centre and radius; GPS points of their units lie
    inside that circle, hence inside `bbox`."""
    level: int
    code: str
    name: str
    path: str
    parent_path: str | None
    kind: str | None = None
    centre_lat: float | None = None
    centre_lon: float | None = None
    radius_m: float | None = None

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        """(min_lat, min_lon, max_lat, max_lon) around the circle, or None without geometry."""
        if self.centre_lat is None or self.centre_lon is None or self.radius_m is None:
            return None
        dlat = self.radius_m / METRES_PER_DEGREE_LAT
        dlon = self.radius_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(self.centre_lat)))
        return (self.centre_lat - dlat, self.centre_lon - dlon, self.centre_lat + dlat, self.centre_lon + dlon)

    def contains(self, lat: float, lon: float) -> bool:
        box = self.bbox
        return box is not None and box[0] <= lat <= box[2] and box[1] <= lon <= box[3]


METRES_PER_DEGREE_LAT = 111_320.0


@dataclass(frozen=True)
class DemoContact:
    """A person on an account (DESIGN12 `contacts` + `account_contacts`)."""
    name: str
    phone: str | None
    email: str | None = None
    address: str | None = None
    role: str = "owner"
    is_primary: bool = True


# --- payment behaviour --------------------------------------------------------------------------
PAYMENT_BEHAVIOURS = ("full", "late", "partial", "unpaid")

# Per payer profile: the chance of each behaviour in a month, in PAYMENT_BEHAVIOURS order.
PAYER_PROFILES: dict[str, tuple[float, float, float, float]] = {
    "autopay": (0.985, 0.0, 0.0, 0.015),   # card or bank debit; a declined card now and then
    "prompt": (0.90, 0.06, 0.02, 0.02),
    "irregular": (0.50, 0.20, 0.12, 0.18),
    "chronic": (0.03, 0.02, 0.15, 0.80),    # arrears build up month after month
}


@dataclass(frozen=True)
class PaymentPlan:
    """What the demo customer does with one month's bill.

    behaviour: `full` (paid in full on or before the due date), `late` (paid in full after it),
    `partial` (part of the amount due), `unpaid` (nothing). share: the fraction of the amount due
    to pay (1, a multiple of 0.05 between 0.20 and 0.80 for partial, 0 for unpaid); the caller
    rounds amount * share to 2 places half-up. days_after_due: when to pay, relative to the due
    date (negative = before it; 0 for unpaid)."""
    behaviour: str
    share: Decimal
    days_after_due: int


_SALT_PAYMENT = 0x5041


def payment_plan(profile: str, key: int, month_index: int) -> PaymentPlan:
    """The deterministic plan of record `key` (a utility-specific stable number) for month
    `month_index` (0 = the first month the demo bills), under its payer profile."""
    weights = PAYER_PROFILES[profile]
    rng = random.Random((_SALT_PAYMENT << 48) ^ (key << 12) ^ month_index)
    roll = rng.random()
    acc = 0.0
    behaviour = PAYMENT_BEHAVIOURS[-1]
    for name, w in zip(PAYMENT_BEHAVIOURS, weights):
        acc += w
        if roll < acc:
            behaviour = name
            break
    if behaviour == "full":
        return PaymentPlan("full", Decimal(1), -rng.choice((1, 2, 3, 5, 7, 10, 14)))
    if behaviour == "late":
        return PaymentPlan("late", Decimal(1), rng.randint(2, 40))
    if behaviour == "partial":
        return PaymentPlan("partial", Decimal(rng.randint(4, 16)) * Decimal("0.05"), rng.randint(-5, 20))
    return PaymentPlan("unpaid", Decimal(0), 0)
