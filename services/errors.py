"""Typed errors. Every message says what happened and, where there is one, the fix."""
from __future__ import annotations


class MeterlineError(Exception):
    """Base of every error Meterline raises on purpose."""


class ValidationError(MeterlineError):
    """Bad input for one field. Nothing was stored."""

    def __init__(self, field: str, message: str, fix: str | None = None):
        self.field = field
        self.message = message
        self.fix = fix
        super().__init__(f"{field}: {message}" + (f" {fix}" if fix else ""))


class ValidationErrors(MeterlineError):
    """Several field errors at once (a form or a spreadsheet). Nothing was stored."""

    def __init__(self, errors: list[ValidationError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class RowProblem:
    def __init__(self, row: int, column: str | None, message: str):
        self.row, self.column, self.message = row, column, message

    def __str__(self) -> str:
        where = ("the file" if self.row == 0 else f"row {self.row}") + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"RowProblem({self.row!r}, {self.column!r}, {self.message!r})"


class MasterDataError(MeterlineError):
    """A spreadsheet had problems; every one is listed with its row. Nothing was loaded."""

    SHOWN = 50  # a readable message; every problem kept is in .problems

    def __init__(self, source: str, problems: list[RowProblem], total: int | None = None):
        self.source = source
        self.problems = list(problems)
        self.total = max(total or 0, len(self.problems))  # problems found, kept or not
        shown = "\n".join(f"  - {p}" for p in self.problems[:self.SHOWN])
        rest = self.total - min(len(self.problems), self.SHOWN)
        more = f"\n  ... and {rest} more" if rest > 0 else ""
        super().__init__(f"{source}: {self.total} problem(s), nothing was loaded:\n{shown}{more}")


class PeriodLockedError(MeterlineError):
    def __init__(self, month: str, detail: str | None = None):
        self.month = month
        super().__init__(detail or f"Billing period {month} is locked: no bill may end in {month} or cover any day of it. "
                         "Choose a period outside the locked month.")


class BillCollisionError(MeterlineError):
    """No free billing_period_start was left before the period end."""

    def __init__(self, existing_bill_id: int | None, message: str):
        self.existing_bill_id = existing_bill_id
        super().__init__(message)


class BillImmutableError(MeterlineError):
    pass


class NotFoundError(MeterlineError):
    pass


class DuplicateError(MeterlineError):
    pass


class ConflictError(MeterlineError):
    """The record is not in a state that allows the change (e.g. approving a rejected reading)."""


class PermissionDeniedError(MeterlineError):
    pass


class AuthenticationError(MeterlineError):
    pass


class RateLimitedError(MeterlineError):
    """Too many attempts from one client (services/accounts/throttle.py); try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        self.retry_after = retry_after
        super().__init__(message)


class StorageError(MeterlineError):
    """The database could not be reached or answered with an error we do not expect."""


class ConfigurationError(MeterlineError):
    pass
