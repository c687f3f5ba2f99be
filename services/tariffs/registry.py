"""Tariff kinds by name: one module each (Lago's one-class-per-charge-model pattern).

A kind's module exports one ChargeModel instance, `MODEL`. To add a kind, write its module and
list it in `_MODULES`; a plan naming any other kind is refused with UnknownTariffKindError.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from services.tariffs import category_fee, flat_rate, tiered_seasonal
from services.tariffs.errors import UnknownTariffKindError
from services.tariffs.quote import QuoteInputs, QuoteLine


class ChargeModel(Protocol):
    kind: str
    metered: bool  # True: bills a measured quantity in the plan's unit (kWh, CCF); False: no unit

    def parse_params(self, raw: Mapping, key: str) -> Any:
        """The kind's parameters as an immutable, validated value; PlanError names the bad key."""

    def dump_params(self, params: Any) -> dict:
        """The parameters as plain data (Decimals as strings); parse_params(dump_params(p)) == p."""

    def prepare(self, params: Any, inputs: QuoteInputs, *, pricing=None) -> QuoteInputs:
        """Check the kind's own inputs and pin what the plan alone cannot recompute later."""

    def lines(self, params: Any, inputs: QuoteInputs, *, unit: str | None, currency: str) -> Sequence[QuoteLine]:
        """This period's charges (arrears are added by the caller), each rounded once."""


_MODULES = (flat_rate, tiered_seasonal, category_fee)
CHARGE_MODELS: dict[str, ChargeModel] = {m.MODEL.kind: m.MODEL for m in _MODULES}


def charge_model(kind: str) -> ChargeModel:
    try:
        return CHARGE_MODELS[kind]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CHARGE_MODELS))
        raise UnknownTariffKindError("kind", f"{kind!r} is not a tariff kind.", f"Use one of: {known}.") from None
