"""Tariff plans and the kinds that price them (pure: no streamlit, sqlalchemy or supabase).

    plan.py             TariffPlan, PlanVersion: load (TOML), from_dict/to_dict, versions
    registry.py         kind -> module (flat_rate, tiered_seasonal, category_fee), raises on others
    flat_rate.py        seed 002: rate x (units + shared units) + fixed charge
    tiered_seasonal.py  seed 004: graduated blocks x seasonal multiplier + monthly fees
    category_fee.py     seed 003: fixed monthly fee by category and unit type
    quote.py            Quote, QuoteLine, QuoteInputs (what a bill stores)
    quoting.py          quote(plan, ...), recompute(inputs, plan)

The stable entry points are re-exported by services.tariff_rules (TariffPlan, TariffRules.quote).
"""
from services.tariffs.errors import NoFeeError, PlanError, UnknownTariffKindError
from services.tariffs.plan import PlanVersion, TariffPlan
from services.tariffs.quote import Quote, QuoteInputs, QuoteLine
from services.tariffs.quoting import quote, recompute
from services.tariffs.registry import CHARGE_MODELS, charge_model

__all__ = ["CHARGE_MODELS", "NoFeeError", "PlanError", "PlanVersion", "Quote", "QuoteInputs", "QuoteLine",
           "TariffPlan", "UnknownTariffKindError", "charge_model", "quote", "recompute"]
