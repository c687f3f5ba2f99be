"""Tariff plans: immutable, versioned pricing data of one kind, from TOML files or stored dicts.

A plan (code, name, kind, service, unit, currency) has versions numbered 1, 2, 3 ... each with
an effective_from date (strictly later than the previous version's) and the kind's parameters,
validated by the kind's module. Versions are append-only: `with_new_version` returns a new plan
with one more version; nothing is edited in place.

Which version prices a bill: the one in effect on the billing period's END date (the latest
version whose effective_from is on or before it), for the whole period. A rate change in the
middle of a period is not prorated; this is the common utility practice for monthly bills
and the same date that picks the water season, so one bill is priced by one set of numbers.

Dict form (`to_dict`, `from_dict`; what the database stores as JSON): dates as ISO strings,
Decimals as strings exactly as written ("2.50"); `from_dict(plan.to_dict()) == plan`.
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.errors import ValidationError
from services.tariffs import values as v
from services.tariffs.errors import PlanError
from services.tariffs.registry import charge_model

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PLAN_KEYS = {"code", "name", "kind", "service", "unit", "currency", "notes", "versions"}
_VERSION_KEYS = {"version", "effective_from", "notes", "params"}


@dataclass(frozen=True)
class PlanVersion:
    version: int
    effective_from: dt.date
    params: Any  # the kind's immutable parameters (FlatRateParams, TieredSeasonalParams, CategoryFeeParams)
    notes: str | None = None


@dataclass(frozen=True)
class TariffPlan:
    code: str
    name: str
    kind: str
    service: str
    unit: str | None  # kWh, CCF; None for a fixed fee
    currency: str  # ISO 4217: INR, PKR, USD
    versions: tuple[PlanVersion, ...]
    notes: str | None = None

    def __post_init__(self):
        # The invariants version_for relies on, also for a plan built directly rather than parsed.
        if not self.versions:
            raise PlanError("versions", "is empty.", "Add a [[versions]] table with version = 1 and effective_from.")
        for i, pv in enumerate(self.versions):
            if pv.version != i + 1 or (i and pv.effective_from <= self.versions[i - 1].effective_from):
                raise PlanError(f"versions[{i}]", "is out of order.",
                                "Number versions 1, 2, 3 ... with effective_from dates strictly increasing.")

    # -- reading and writing -------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> TariffPlan:
        """Read a TOML plan file (numbers read as exact Decimals). PlanError names the bad key."""
        path = Path(path)
        try:
            with path.open("rb") as f:
                raw = tomllib.load(f, parse_float=Decimal)
        except FileNotFoundError:
            raise PlanError("path", f"{path} does not exist.", "Check the file name (plans live in data/tariffs/).") from None
        except tomllib.TOMLDecodeError as e:
            raise PlanError("toml", f"is not valid TOML ({e}).", "Fix the syntax at the line shown.", str(path)) from None
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: Mapping, *, source: str | None = None) -> TariffPlan:
        try:
            return cls._parse(raw)
        except PlanError as e:
            e.source = e.source or source
            raise

    @classmethod
    def _parse(cls, raw: Mapping) -> TariffPlan:
        raw = v.mapping(raw, "plan")
        v.only_keys(raw, "", _PLAN_KEYS)
        model = charge_model(v.required(raw, "", "kind", '"flat_rate" (or tiered_seasonal, category_fee)'))
        code = v.text(v.required(raw, "", "code", '"water-standard"'), "code")
        if not _CODE.match(code):
            raise PlanError("code", f"{code!r} is not a plan code.",
                            'Use lower-case letters, digits, - and _, e.g. "water-standard".')
        currency = v.required(raw, "", "currency", '"USD" (an ISO 4217 code: INR, PKR, USD)')
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise PlanError("currency", f"{currency!r} is not an ISO 4217 currency code.",
                            'Write three capital letters, e.g. "INR", "PKR" or "USD".')
        unit = raw.get("unit")
        if model.metered:
            unit = v.text(v.required(raw, "", "unit", '"kWh" (the unit the quantity is measured in)'), "unit")
        elif unit is not None:
            raise PlanError("unit", f"is set, but a {model.kind} plan bills no measured quantity.", "Remove unit.")
        name = v.text(v.required(raw, "", "name", '"..."'), "name")
        service = v.text(v.required(raw, "", "service", '"water"'), "service")
        notes = _notes(raw, "notes")
        versions = v.items(v.required(raw, "", "versions", "[[versions]] tables"), "versions")
        parsed: list[PlanVersion] = []
        for i, item in enumerate(versions):
            parsed.append(_version(model, item, i, parsed))
        return cls(code=code, name=name, kind=model.kind, service=service, unit=unit, currency=currency,
                   versions=tuple(parsed), notes=notes)

    def to_dict(self) -> dict:
        model = charge_model(self.kind)
        return {"code": self.code, "name": self.name, "kind": self.kind, "service": self.service, "unit": self.unit,
                "currency": self.currency, "notes": self.notes,
                "versions": [{"version": pv.version, "effective_from": pv.effective_from.isoformat(),
                              "notes": pv.notes, "params": model.dump_params(pv.params)} for pv in self.versions]}

    # -- versions ------------------------------------------------------------------------
    @property
    def latest(self) -> PlanVersion:
        return self.versions[-1]

    def version(self, number: int) -> PlanVersion:
        for pv in self.versions:
            if pv.version == number:
                return pv
        raise ValidationError("plan_version", f"plan {self.code} has no version {number!r}.",
                              f"Use one of: {', '.join(str(p.version) for p in self.versions)}.")

    def version_for(self, day: dt.date) -> PlanVersion:
        """The version in effect on `day` (pass the billing period's END date)."""
        found = None
        for pv in self.versions:
            if pv.effective_from <= day:
                found = pv
        if found is None:
            first = self.versions[0].effective_from
            raise ValidationError("period_end", f"{day} is before plan {self.code} takes effect ({first}).",
                                  f"Bill a period ending on or after {first}, or add a version effective earlier.")
        return found

    def with_new_version(self, params: Mapping | Any, effective_from: dt.date | str,
                         notes: str | None = None) -> TariffPlan:
        """A new plan with one more version: the edited parameters, taking effect on a date AFTER
        the last version's. The parameters are validated as a plan file's are."""
        model = charge_model(self.kind)
        raw = params if isinstance(params, Mapping) else model.dump_params(params)
        new = _version(model, {"version": self.latest.version + 1, "effective_from": effective_from,
                               "notes": notes, "params": raw}, len(self.versions), self.versions)
        if new.params == self.latest.params:
            raise PlanError("params", f"are the same as version {self.latest.version}'s.",
                            "Change at least one figure; a version with the same prices would change nothing.")
        return replace(self, versions=self.versions + (new,))


def _version(model, raw, i: int, earlier: list[PlanVersion] | tuple[PlanVersion, ...]) -> PlanVersion:
    key = f"versions[{i}]"
    raw = v.mapping(raw, key)
    v.only_keys(raw, key, _VERSION_KEYS)
    number = v.integer(v.required(raw, key, "version", str(i + 1)), f"{key}.version")
    if number != i + 1:
        raise PlanError(f"{key}.version", f"is {number}, expected {i + 1}: versions are numbered 1, 2, 3 ... in order.",
                        f"Set version = {i + 1}, or put the versions in order.")
    start = v.date(v.required(raw, key, "effective_from", "2026-01-01"), f"{key}.effective_from")
    if earlier and start <= earlier[-1].effective_from:
        before = earlier[-1].effective_from
        raise PlanError(f"{key}.effective_from", f"{start} is not after version {i}'s {before}: versions would overlap.",
                        f"Each version must take effect after the one before: use a date after {before}.")
    params = model.parse_params(v.required(raw, key, "params", "a [versions.params] table"), f"{key}.params")
    return PlanVersion(number, start, params, _notes(raw, f"{key}.notes"))


def _notes(raw: Mapping, key: str) -> str | None:
    value = raw.get(key.rsplit(".", 1)[-1])
    return None if value is None else v.text(value, key)
