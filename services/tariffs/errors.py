"""Typed errors of tariff plans and quotes. Each names the key or field and the fix.

They are ValidationErrors (services.errors), so code that already catches bad input catches
these too; `field` is the key path inside the plan (`versions[1].params.tiers[0].rate`).
"""
from __future__ import annotations

from services.errors import ValidationError


class PlanError(ValidationError):
    """A tariff plan (TOML file or stored dict) is malformed. Nothing was loaded."""

    def __init__(self, key: str, problem: str, fix: str | None = None, source: str | None = None):
        super().__init__(key, problem, fix)
        self.key = key
        self.source = source

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.key}: {self.message}" + (f" {self.fix}" if self.fix else "")


class UnknownTariffKindError(PlanError):
    """A plan names a kind no module under services/tariffs/ implements."""


class NoFeeError(ValidationError):
    """A category_fee plan has neither a row for the unit type nor a default for the category."""
