"""The utility a database serves: its name, money, words and calendar (pure).

One database holds one utility. Its settings row is chosen at setup from a template (`society`,
`municipal`, `water`) and can be edited by an administrator; pages, exports, messages and
documents take their labels and formats from it, so a municipal user reads "consumer unit" and
"Rs 1,234.00" where a society user reads "flat" and "₹1,234.00".
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import format_decimal

from services.errors import ValidationError
from services.money_format import DEFAULT_LOCALES, format_money as _format_money

TEMPLATE_NAMES = ("society", "municipal", "water")
CURRENCIES = ("INR", "PKR", "USD")


@dataclass(frozen=True)
class UtilitySettings:
    template: str
    name: str
    short_code: str  # prefix of bill numbers, e.g. "BC"
    currency: str
    locale: str
    timezone: str
    account_label: str  # "flat", "consumer unit", "customer"
    account_label_plural: str
    area_levels: tuple[str, ...]  # names of the area levels, top first: ("Block", "Floor")
    service: str  # the service every account is billed for: electricity, sanitation, water
    quantity_unit: str | None  # kWh, CCF; None for a fixed fee
    billing_day: int  # day of the month bills are issued
    due_days: int  # days from the end of the billing period to the due date
    plan_file: str  # the template's tariff plan in data/tariffs/

    def __post_init__(self):
        problems = []
        if self.template not in TEMPLATE_NAMES:
            problems.append(("template", f"'{self.template}' is not a template.", f"Use one of {', '.join(TEMPLATE_NAMES)}."))
        if self.currency not in CURRENCIES:
            problems.append(("currency", f"'{self.currency}' is not supported.", f"Use one of {', '.join(CURRENCIES)}."))
        if not (1 <= self.billing_day <= 28):
            problems.append(("billing_day", f"{self.billing_day} is not a day every month has.", "Use 1 to 28."))
        if not (0 <= self.due_days <= 90):
            problems.append(("due_days", f"{self.due_days} is out of range.", "Use 0 to 90 days."))
        if not self.area_levels or any(not str(x).strip() for x in self.area_levels):
            problems.append(("area_levels", "needs at least one named level.", "Name the levels, top first."))
        if not self.name.strip():
            problems.append(("name", "is required.", "Enter the utility's name."))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(("timezone", f"'{self.timezone}' is not a time zone.", "Use an IANA name such as Asia/Kolkata."))
        if problems:
            raise ValidationError(*problems[0])

    # ---- formats --------------------------------------------------------------------------
    def money(self, amount) -> str:
        """An amount as this utility's customers read it (Indian grouping for INR)."""
        return _format_money(amount, self.currency, self.locale)

    def number(self, value, places: int = 2) -> str:
        """A quantity with the locale's grouping, e.g. 12,34,567.5 kWh in India."""
        q = Decimal(value)
        return format_decimal(q, format="#,##0." + "0" * places if places else "#,##0", locale=self.locale) \
            if self.locale != "en_IN" else _indian(q, places)

    def quantity(self, value) -> str:
        return f"{self.number(value)} {self.quantity_unit}" if self.quantity_unit else self.number(value)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        return (now or dt.datetime.now(dt.timezone.utc)).astimezone(self.zone).date()

    def label(self, plural: bool = False, capital: bool = False) -> str:
        word = self.account_label_plural if plural else self.account_label
        return word[:1].upper() + word[1:] if capital else word

    def as_row(self) -> dict:
        row = dataclasses.asdict(self)
        row["area_levels"] = list(self.area_levels)
        return row

    @classmethod
    def from_row(cls, row) -> "UtilitySettings":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: row[k] for k in row.keys() if k in names}
        values["area_levels"] = tuple(values.get("area_levels") or ())
        return cls(**values)

    def with_changes(self, **changes) -> "UtilitySettings":
        return dataclasses.replace(self, **changes)


def _indian(value: Decimal, places: int) -> str:
    # Babel's en_IN pattern groups 12,34,567 for currency and decimals alike; kept explicit here so
    # quantities and money agree whatever the Babel data version.
    return format_decimal(value, format="#,##,##0." + "0" * places if places else "#,##,##0", locale="en_IN")


TEMPLATES: dict[str, UtilitySettings] = {
    "society": UtilitySettings(
        template="society", name="Blessings City", short_code="BC", currency="INR", locale="en_IN",
        timezone="Asia/Kolkata", account_label="flat", account_label_plural="flats", area_levels=("Block", "Floor"),
        service="electricity", quantity_unit="kWh", billing_day=1, due_days=15, plan_file="data/tariffs/society.toml"),
    "municipal": UtilitySettings(
        template="municipal", name="Suthra Punjab", short_code="SP", currency="PKR", locale="en_PK",
        timezone="Asia/Karachi", account_label="consumer unit", account_label_plural="consumer units",
        area_levels=("City/Tehsil", "Union Council"), service="sanitation", quantity_unit=None, billing_day=1,
        due_days=20, plan_file="data/tariffs/municipal.toml"),
    "water": UtilitySettings(
        template="water", name="HydroSpark", short_code="HS", currency="USD", locale="en_US",
        timezone="America/Los_Angeles", account_label="customer", account_label_plural="customers",
        area_levels=("Service area", "Billing cycle"), service="water", quantity_unit="CCF", billing_day=1,
        due_days=21, plan_file="data/tariffs/water.toml"),
}

assert all(DEFAULT_LOCALES.get(t.currency) for t in TEMPLATES.values())


def template(name: str) -> UtilitySettings:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValidationError("utility", f"'{name}' is not a utility template.",
                              f"Use one of {', '.join(TEMPLATE_NAMES)}.") from None
