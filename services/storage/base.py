"""The storage contract: what every backend (SQLAlchemy on SQLite/PostgreSQL, Supabase REST)
must do. tests/contract/ runs one suite against every backend.

Each method is one unit of work: it either happens whole or not at all. Methods that change
data take the `Actor` and write audit_log in the same unit. Business decisions (validation,
pricing, which bills to carry forward) are made by services/database_service.py before the
call; backends store and enforce (unique keys, the period-lock trigger, no-overwrite retry).

Lists are paginated (offset/limit) and filtered in the database; nothing here returns a whole
table.
"""
from __future__ import annotations

import abc
import contextlib
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from services.billing.coverage import ChainReading, CoveredReading
from services.models import (
    Account, AccountFilter, Area, AuditEntry, BatchResult, Bill, BillFilter, BillParts, BillLine, BillRun, DashboardFigures,
    JobRun, MeterChoice, MonthlyPoint, NewBill, Notification, Page, Payment, PaymentEvent,
    PaymentResult, PeriodLock, Reading, ReadingFilter, RunCandidate, ServiceConnection, StoredPlan, UsageTotal, User,
    UserSession,
)
from services.models import AnomalyCount, AnomalyFilter, Contact, DailyUsage, UsageAnomaly, UsageBatch, UsageMonth
from services.readings.rules import MeterInfo, NeighbourReading, ReadingContext, ReadingPlan
from services.accounts.roles import Actor
from services.accounts.scopes import EVERYTHING, Scope

if TYPE_CHECKING:
    from services.field.models import AgentVisits, NewTicket, NewVisit, Ticket, TicketFilter, TicketNote, Visit, VisitFilter
    from services.payments.models import BankFile, BankPaymentRow
    from services.reports.models import AgingRow, CollectionRow
    from services.master_data.importer import MasterDataChanges, MasterDataState
    from services.readings.anomalies import DetectionParams
    from services.tariffs import TariffPlan
    from services.readings.meter_changes import MeterChange, MeterChangeRequest
    from services.photo_checks import PhotoFinding, PhotoPrint
    from database.bill_chain import ChainHead
    from services.billing.archive import ArchivedBill, ArchivedMonth, ArchiveOutcome

# Tables bulk_insert / lookup_ids may be used on (reference data and seeding).
BULK_TABLES = ("areas", "accounts", "contacts", "account_contacts", "account_surveys", "service_connections", "motors",
               "account_motors", "meters", "readings", "daily_usage")


class Storage(abc.ABC):
    backend_name: str = "abstract"
    scope: Scope = EVERYTHING  # what this view may see (services/accounts/scopes.py)

    # ---- staff scoped to their areas ----------------------------------------------------
    def scoped(self, scope: Scope) -> "Storage":
        """This storage as an area-limited actor sees it: every read of accounts, bills, payments,
        readings and bank rows returns only what lies in `scope` (a record outside it
        answers as if it did not exist), a call naming a record outside it raises NotFoundError, and
        whole-utility work is refused (services/storage/scoping.py). Narrows any scope already set."""
        from services.storage.scoping import scoped_view

        return scoped_view(self, scope)

    def scope_changed(self) -> None:
        """Called on a new scoped view, before it is used."""

    @contextlib.contextmanager
    def scope_reading(self):
        """Around each filtered read of a scoped view (services/storage/scoping.py: FILTERED). The SQL
        backends filter with predicates on self.scope and need nothing here; the REST backend sends
        the scope with the requests made inside, and row level security filters them."""
        yield

    @abc.abstractmethod
    def list_user_areas(self, user_id: int) -> list[Area]:
        """The areas assigned to a staff member (their scope is these areas' subtrees), in display order."""

    # ---- the bill archive (issue 14; services/billing/archive.py) -----------------------------------
    @abc.abstractmethod
    def archive_bill_month(self, month: str, today: dt.date, actor: Actor, *, after_months: int,
                           dry_run: bool = False) -> "ArchiveOutcome":
        """Move the month's settled bills that nothing live needs to the archive, with all their rows,
        in one transaction counted on both sides; a dry run counts and rolls back."""

    @abc.abstractmethod
    def restore_bill_month(self, month: str, actor: Actor) -> "ArchiveOutcome":
        """Move an archived month's bills back to the live tables, unchanged (same ids)."""

    @abc.abstractmethod
    def bill_months_before(self, first_kept: dt.date) -> list[str]:
        """The bill months (YYYY-MM) before `first_kept` that have bills, live or archived, oldest first."""

    @abc.abstractmethod
    def list_archived_months(self) -> list["ArchivedMonth"]:
        """The archived bill months with what each holds, newest first."""

    @abc.abstractmethod
    def find_archived_bills(self, *, psid: str | None = None, account_code: str | None = None,
                            offset: int = 0, limit: int = 50) -> Page["ArchivedBill"]:
        """Archived bills by PSID or account code, newest period first (filtered by the scope)."""

    # ---- bulk changes (services/municipal/bulk.py) ------------------------------------------------
    @abc.abstractmethod
    def set_accounts_active(self, account_ids: Sequence[int], active: bool, reason: str, actor: Actor) -> int:
        """Set these accounts active or inactive in one unit of work with one audit entry
        "bulk.accounts_active" (count, reason, ids); returns how many changed."""

    # ---- the municipal survey import (services/municipal/survey.py) -------------------------------
    @abc.abstractmethod
    def survey_state(self, codes: Sequence[str]) -> "SurveyState":
        """What is stored for these survey ids (account codes): account, primary contact and survey
        values (services.municipal.survey.ACCOUNT_FIELDS / CONTACT_FIELDS / SURVEY_FIELDS)."""

    @abc.abstractmethod
    def apply_survey(self, plan: "SurveyPlan", source: str, actor: Actor) -> dict[str, int]:
        """Store a survey import's plan in one unit of work (all or nothing): new units with their
        primary contact, survey and sanitation connection; updated units; their billing name / mobile
        / address history; one audit entry "survey.import". Returns the plan's counts."""

    @abc.abstractmethod
    def account_survey(self, account_id: int) -> "AccountSurvey | None":
        """The unit's stored survey, if it has one."""

    @abc.abstractmethod
    def list_account_history(self, account_id: int, limit: int = 50) -> list["AccountChange"]:
        """The unit's billing name / mobile / address changes, newest first."""

    # ---- consumer analytics and staff performance (services/reports/analytics.py: definitions) ---
    @abc.abstractmethod
    def consumer_analytics(self, as_of: dt.date, months: int = 12, top: bool = True) -> list["ConsumerRow"]:
        """Per area (city/tehsil when top, else union council): active and inactive units and the
        billed units by payment pattern over the last `months` bill months, in the reader's scope. From
        the consumer_patterns job's counts when it ran for (as_of, months), else counted live."""

    def refresh_consumer_patterns(self, as_of: dt.date, months: int) -> int:
        """Count the payment patterns of (as_of, months) per leaf area into consumer_pattern_totals,
        replacing what was there (the consumer_patterns job); returns the rows written. The SQL backends
        do; on the REST backend the report counts live."""
        from services.errors import ConfigurationError

        raise ConfigurationError("Consumer patterns are counted ahead only on the SQL backends; on Supabase the "
                                 "report counts them live.")

    def consumer_patterns_computed_at(self, as_of: dt.date, months: int) -> dt.datetime | None:
        """When the consumer_patterns job counted (as_of, months); None: the report counts live."""
        return None

    @abc.abstractmethod
    def staff_performance(self, month: str) -> list["StaffRow"]:
        """Per area-limited staff member: the month's bills in their areas, due, collected, paid; only
        bills in the reader's scope count."""

    # ---- reports (services/reports/models.py: definitions) --------------------------------------
    @abc.abstractmethod
    def collection_report(self, month: str, top: bool = True) -> list["CollectionRow"]:
        """The bills of a bill month ("2026-10") per city/tehsil (top) or union council: counts, billed, due,
        collected and payment statuses. One aggregate query."""

    @abc.abstractmethod
    def aging_report(self, as_of: dt.date, top: bool = True) -> list["AgingRow"]:
        """Open balances per area by days past due (not due, 0-30, 31-90, 91-180, 180+). One aggregate query."""

    # ---- bank payment files (services/payments/bank_files.py) -----------------------------------
    @abc.abstractmethod
    def bank_file_by_sha(self, sha256: str) -> "BankFile | None":
        """The bank file imported with these bytes (their SHA-256), if any."""

    @abc.abstractmethod
    def record_bank_file(self, file_row: dict, rows: list[dict], actor: Actor) -> "BankFile":
        """Store a bank file (its counts and amounts given) and every row with its outcome, with an audit
        entry "bank_file.import", in one unit of work. DuplicateError when a file of the same sha256 exists."""

    @abc.abstractmethod
    def list_bank_files(self, offset: int = 0, limit: int = 50) -> Page["BankFile"]:
        """Imported bank files, newest first."""

    @abc.abstractmethod
    def list_bank_payments(self, bank_file_id: int, outcomes: tuple[str, ...] = (), offset: int = 0,
                           limit: int = 50) -> Page["BankPaymentRow"]:
        """A bank file's rows in file order (only these outcomes, when given)."""

    @abc.abstractmethod
    def set_user_areas(self, user_id: int, area_ids: Sequence[int], actor: Actor) -> list[Area]:
        """Replace the user's assigned areas with these (none: an area-limited user then sees nothing), with
        an audit entry "user.areas" (before and after), in one unit of work. NotFoundError for an unknown
        user, ValidationError naming the first area id that does not exist."""

    # ---- schema and health -------------------------------------------------------------
    @abc.abstractmethod
    def ensure_schema(self) -> None:
        """Create missing tables/triggers (SQL backends) or check they exist (REST)."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StorageError when the database cannot be reached."""

    @abc.abstractmethod
    def table_counts(self, tables: Iterable[str] | None = None) -> dict[str, int]:
        """Row counts per table (exact for SQL; planned/estimated counts are fine for REST)."""

    def refresh_statistics(self) -> None:
        """After a bulk load: let the query planner see the new rows (PostgreSQL ANALYZE). Without
        it, the minute before autovacuum catches up can get plans made for empty tables. A no-op
        where the backend has no such step (SQLite: Meterline never runs ANALYZE there, its plans
        are chosen without statistics; Supabase: the server's autovacuum does it)."""

    # ---- reference data (seed, import) -------------------------------------------------
    @abc.abstractmethod
    def bulk_insert(self, table: str, rows: list[dict], *, return_ids: bool = False) -> list[int] | None:
        """Insert many rows of a BULK_TABLES table in one unit of work. No audit. With return_ids, the
        new rows' ids in the order of `rows` (to link rows that have no unique key of their own, such
        as contacts, whose phone may be missing or shared)."""

    @abc.abstractmethod
    def lookup_ids(self, table: str, key_column: str, values: Iterable) -> dict:
        """{key value: id} for the given keys (unknown keys are absent)."""

    # ---- the utility, its areas, accounts, plans and usage ------------------------------------
    @abc.abstractmethod
    def utility_settings_row(self) -> dict | None:
        """The utility_settings row (services/accounts/utility.py), or None before setup."""

    @abc.abstractmethod
    def save_utility_settings(self, row: dict, actor: Actor) -> None:
        """Insert or update the one settings row. Audited (utility.settings, what changed)."""

    @abc.abstractmethod
    def list_areas(self, *, level: int | None = None, parent_id: int | None = None) -> list[Area]:
        """Areas in display order (sort_order, path); small enough to list whole."""

    @abc.abstractmethod
    def get_area(self, *, area_id: int | None = None, path: str | None = None) -> Area | None: ...

    @abc.abstractmethod
    def ensure_areas(self, areas: list[dict], actor: Actor) -> dict[str, int]:
        """Create missing areas ({path, name, kind?, sort_order?}; parents implied by the path) in one
        unit of work; return {path: id} for every path given and its parents."""

    @abc.abstractmethod
    def get_account(self, *, account_id: int | None = None, code: str | None = None) -> Account | None: ...

    @abc.abstractmethod
    def list_accounts(self, flt: AccountFilter, offset: int = 0, limit: int = 50,
                      with_total: bool = True) -> Page[Account]:
        """Accounts by code, filtered in the database (area at any level, category, search)."""

    @abc.abstractmethod
    def save_tariff_plan(self, plan: "TariffPlan", actor: Actor) -> StoredPlan:
        """Store a plan and the versions of it not stored yet (append-only: a stored version with
        other terms is refused). Audited."""

    @abc.abstractmethod
    def get_tariff_plan(self, *, plan_id: int | None = None, code: str | None = None) -> StoredPlan | None: ...

    @abc.abstractmethod
    def list_tariff_plans(self) -> list[StoredPlan]: ...

    @abc.abstractmethod
    def service_connection(self, account_id: int, service: str) -> ServiceConnection | None: ...

    @abc.abstractmethod
    def usage_totals(self, account_ids: list[int], start: dt.date, end: dt.date) -> dict[int, UsageTotal]:
        """Each account's daily usage summed over [start, end] in the database (accounts with none absent)."""

    @abc.abstractmethod
    def get_meter(self, *, meter_id: int | None = None, meter_number: str | None = None) -> MeterInfo | None: ...

    @abc.abstractmethod
    def meter_choice(self, meter_id: int) -> MeterChoice | None:
        """The active-meter row (account, area, primary contact, shared motor meter) of one meter."""

    @abc.abstractmethod
    def list_meter_choices(self, search: str | None = None, offset: int = 0, limit: int = 50) -> Page[MeterChoice]:
        """Active account meters with account, area and primary contact, ordered by account code.
        `search` matches an account code or meter number prefix, or part of the contact's name."""

    @abc.abstractmethod
    def master_data_state(self, account_codes: list[str], meter_numbers: list[str],
                          motor_codes: list[str]) -> "MasterDataState":
        """What the database holds for these accounts, meters and motors (services.master_data.importer):
        each flat with its primary owner, each meter with its flat or motor, the accounts' and motors'
        active meters, the accounts' motor links. For one chunk of an import; read-only."""

    @abc.abstractmethod
    def apply_master_data(self, changes: "MasterDataChanges | Sequence[MasterDataChanges]", actor: Actor) -> None:
        """Store a master data import, given as one or several chunks applied in order, in ONE unit
        of work: all of it or nothing (areas, motors, accounts with their electricity connection to
        the stored electricity plan, primary contacts, meters, motor links; codes and area paths
        resolved to ids here). Audited once as master_data.import. A refusal by the database (a
        unique key taken meanwhile) raises a MeterlineError; nothing is stored."""

    # ---- readings -------------------------------------------------------------------------
    # A meter's non-rejected readings form a chain ordered by (reading_date, id); see
    # services/readings/rules.py. Every write to a chain happens under one lock per meter.
    @abc.abstractmethod
    def reading_neighbours(self, meter_id: int, reading_date: dt.date) -> tuple[NeighbourReading | None, NeighbourReading | None]:
        """Where a reading of that date would go now: the meter's last non-rejected reading dated on
        or before the date (same day: stored earlier), and the first dated after it. A snapshot for
        display; writers get theirs inside the lock (insert_reading_checked)."""

    @abc.abstractmethod
    def insert_reading_checked(self, meter_id: int, reading_date: dt.date, reading_value: Decimal,
                               build: Callable[[ReadingContext], ReadingPlan], actor: Actor) -> tuple[Reading, bool]:
        """Store one reading in one unit of work under the meter's lock (PostgreSQL: the meter row
        FOR UPDATE; SQLite: BEGIN IMMEDIATE; Supabase: one /rpc function). Inside the lock: if the
        same (meter, date, value) is stored, return it with created=False and write nothing; else
        read the ReadingContext and call `build` (the pure rules; what it raises refuses the reading,
        nothing stored), insert its row, re-measure the following reading from it when the plan
        says so (audited as reading.relink), and audit reading.submit. A backend that cannot run
        `build` inside its lock (REST) re-applies the value rules in the database and calls `build`
        again when the neighbours changed meanwhile."""

    @contextlib.contextmanager
    def hold_meter(self, meter_id: int):
        """Hold one meter across several units of work (the API's store-approve-bill of a reading),
        so a second submission of the same reading waits for the first to finish and gets the same
        answer. This process-local lock is the base; the SQL backends extend it across processes
        (PostgreSQL: an advisory lock; SQLite: a lock file next to the database)."""
        from services.storage.meter_locks import LOCAL_METER_LOCKS

        with LOCAL_METER_LOCKS.hold((type(self).__name__, getattr(self, "url", id(self)), meter_id)):
            yield

    @abc.abstractmethod
    def meter_history(self, meter_id: int, before: dt.date | None = None, limit: int = 12) -> list[Reading]:
        """Non-rejected readings of a meter, newest first (before the date, when given)."""

    @abc.abstractmethod
    def find_reading(self, meter_id: int, reading_date: dt.date, reading_value: Decimal) -> Reading | None: ...

    @abc.abstractmethod
    def get_reading(self, reading_id: int) -> Reading | None: ...

    @abc.abstractmethod
    def list_readings(self, flt: ReadingFilter, offset: int = 0, limit: int = 50, with_total: bool = True) -> Page[Reading]:
        """Newest first. `unbilled_only` keeps readings no bill references."""

    @abc.abstractmethod
    def review_reading(self, reading_id: int, *, approve: bool, actor: Actor, reason: str | None = None,
                       approved_units: Decimal | None = None) -> Reading:
        """pending -> approved/rejected. ConflictError when the reading is not pending. Rejecting
        takes the reading out of its meter's chain under the meter's lock: the reading measured from
        it is re-measured from the one before it (readings_rules.relink_after_rejection; audited as
        reading.relink), and the rejection is refused (ConflictError) when that reading is billed."""

    @abc.abstractmethod
    def undo_review(self, reading_id: int, actor: Actor) -> Reading:
        """approved/rejected -> pending, under the meter's lock, audited reading.undo_review with the
        decision undone (who and when). Refused (ConflictError saying why, nothing changed) while
        something rests on the decision (services/readings/undo.py): the reading is billed, it is a
        meter change's reading, or, for a rejection, the chain moved since or its follower cannot be
        re-measured from it again (which undoing a rejection does, audited reading.relink)."""

    @abc.abstractmethod
    def approve_readings(self, reading_ids: list[int], actor: Actor, *, unflagged_only: bool = True) -> int:
        """Bulk approve pending (and, by default, unflagged) readings; returns how many changed."""

    @abc.abstractmethod
    def set_reading_photo_url(self, reading_id: int, photo_url: str, actor: Actor) -> None: ...

    @abc.abstractmethod
    def set_reading_ai_opinion(self, reading_id: int, opinion: dict | None, actor: Actor) -> None:
        """Store the model's advice on a reading (readings.ai_opinion; flags and status untouched).
        NotFoundError for an unknown reading. Audited."""

    # ---- meter changes ------------------------------------------------------------------------
    @abc.abstractmethod
    def record_meter_change(self, req: "MeterChangeRequest", plan_final: Callable[[ReadingContext], ReadingPlan],
                            actor: Actor) -> "MeterChange":
        """One unit of work under the old meter's lock (services/readings/meter_changes.py): the final
        reading (the one stored with that value on that day, approved if pending; else a new one
        from `plan_final(context)`, approved), for a replacement the new meter (same flat or motor)
        and the old one `replaced`, the start reading on the new chain (approved, no consumption),
        the meter_changes row; audited as meter.change. ValidationError naming the field when the
        meter is no longer active, has readings after the day, or the new number exists."""

    @abc.abstractmethod
    def list_meter_changes(self, meter_id: int | None = None, offset: int = 0, limit: int = 20) -> Page["MeterChange"]:
        """Newest first; with meter_id, the changes that ended or started that meter's chains."""

    # ---- period locks -----------------------------------------------------------------------
    @abc.abstractmethod
    def locked_months(self) -> list[str]: ...

    @abc.abstractmethod
    def add_period_lock(self, month: str, reason: str, actor: Actor) -> bool:
        """Lock the month (audited); False when it was already locked. period_locks is
        append-only: there is no way to remove a lock."""

    @abc.abstractmethod
    def list_period_locks(self) -> list[PeriodLock]: ...

    @abc.abstractmethod
    def count_bills_ending_in(self, month: str) -> int: ...

    @abc.abstractmethod
    def probe_lock_enforced(self, month: str) -> tuple[bool, str]:
        """Read-only check that the database itself refuses a bill ending in `month`: try a direct
        insert inside a transaction that is always rolled back. Returns (refused, what happened)."""

    # ---- bills -------------------------------------------------------------------------------
    @abc.abstractmethod
    def open_balance(self, account_id: int, service: str | None = None) -> tuple[Decimal, tuple[int, ...]]:
        """What the account still owes on open bills (of `service`, when given), and those bills' ids."""

    @abc.abstractmethod
    def insert_bill(self, new: NewBill, actor: Actor) -> Bill:
        """Store one bill, in one unit of work. Never overwrites: the start moves forward a day at a
        time past the account's bills starting on it (never past billing_period_end, else
        BillCollisionError naming the existing bill). A collision is a re-issue: it must have been
        priced as one (new.reissue_of set), else ConflictError and nothing stored. Raises
        PeriodLockedError for a locked month. Marks carry_forward_bill_ids carried_forward
        (ConflictError if they are no longer open with exactly the balance carried).
        Coverage: sets new.confirm_units on the billed reading (audited) and stores one
        bill_readings row per new.covered (ConflictError if another bill covers one meanwhile).
        Re-issue (new.reissue_of): the replaced bill must still be as priced (not superseded, not
        carried forward, amount_paid == new.replaced_paid, same previous_outstanding, else
        ConflictError); it becomes superseded (superseded_by = the new bill; its coverage is
        released), the bills carried into it point at the new bill, and what was paid on it is one
        `credit` payment on the new bill (credit_from_bill = the replaced bill). Audited."""

    @abc.abstractmethod
    def get_bill(self, bill_id: int) -> Bill | None: ...

    @abc.abstractmethod
    def list_bill_lines(self, bill_id: int) -> list[BillLine]:
        """A bill's lines in order (they sum to its total)."""

    @abc.abstractmethod
    def bill_document_parts(self, bill_ids: list[int], history_months: int = 12) -> dict[int, BillParts]:
        """For printing many bills at once (services/documents/), set-based: each bill's lines, the
        readings it covers (with meter and date), its account's name and address, the numbers of
        the bills it replaced or was replaced by, and its account's bills of the service for the
        `history_months` months up to and including its own (not superseded or cancelled), per month."""

    @abc.abstractmethod
    def list_bills(self, flt: BillFilter, offset: int = 0, limit: int = 50, with_total: bool = True) -> Page[Bill]:
        """Newest period first."""

    @abc.abstractmethod
    def list_bills_after(self, flt: BillFilter, after_id: int = 0, limit: int = 1000) -> list[Bill]:
        """Bills matching the filter with id > after_id, by ascending id (keyset pagination, so an
        export can walk a whole filter in pages without OFFSET scans)."""

    @abc.abstractmethod
    def record_payment(self, bill_id: int, *, amount: Decimal, paid_on: dt.date, method: str,
                       reference: str | None, actor: Actor, external_id: str | None = None) -> PaymentResult:
        """Apply a payment (services.billing.arrears.apply_payment rules) and store it. Idempotent on external_id."""

    @abc.abstractmethod
    def settle_bills_in_full(self, bill_ids: list[int], *, paid_on: dt.date, method: str, reference: str | None,
                             actor: Actor) -> int:
        """Pay the whole balance of each open bill (a bank's collection file), set-based.
        Returns how many bills were settled; bills not open are left alone."""

    @abc.abstractmethod
    def list_payments(self, bill_id: int) -> list[Payment]: ...

    @abc.abstractmethod
    def set_bill_status(self, bill_id: int, status: str, actor: Actor, reason: str,
                        expected_status: str | None = None) -> Bill:
        """Admin status change (e.g. a paid bill back to pending with a reason). Audited.
        With expected_status, the change happens only if the bill still has that status (a payment
        landing between the caller's read and this write is never overwritten): ConflictError otherwise."""

    @abc.abstractmethod
    def set_payment_link(self, bill_id: int, link_id: str, url: str, actor: Actor) -> None: ...

    @abc.abstractmethod
    def mark_overdue(self, as_of: dt.date, actor: Actor) -> list[int]:
        """Open bills past due -> overdue. Returns the ids that changed (set-based)."""

    @abc.abstractmethod
    def mark_overdue_notified(self, bill_ids: list[int]) -> None: ...

    @abc.abstractmethod
    def readings_billed(self, reading_ids: list[int]) -> set[int]:
        """The ids that are billed: covered by a bill that is not superseded (bill_readings), or a
        shared motor meter's reading referenced by such a bill."""

    # ---- coverage (services/billing/coverage.py) --------------------------------------------------------
    @abc.abstractmethod
    def coverage_chain(self, account_id: int, reading_id: int, replacing_bill_id: int | None = None) -> list[ChainReading]:
        """The account's readings that are not rejected, after each meter's last reading covered (by a
        bill that is not superseded, other than replacing_bill_id) before `reading_id`, up to and
        including it, oldest first; each with the bill (not superseded) covering it, if any."""

    def estimate_basis(self, account_ids: Sequence[int], start: dt.date, end: dt.date) -> dict:
        """For estimating a period's bill (services/billing/estimates.py): per account, its newest
        BASIS_READINGS + 1 approved readings dated up to `end` (HistoryReading, any order) and whether it
        has a reading (approved or pending) dated in the period or after it (then it is not estimated: the
        reading measures the period). The SQL backend answers a batch in one
        query; by default one account at a time (the accounts a run estimates, not every account)."""
        from services.billing.estimates import BASIS_READINGS, HistoryReading

        out = {}
        for account_id in dict.fromkeys(account_ids):
            newest = self.list_readings(ReadingFilter(status="approved", account_id=account_id, date_to=end,
                                                      account_meters_only=True, sort="date", descending=True),
                                        0, BASIS_READINGS + 1, with_total=False).items
            in_period = self.list_readings(ReadingFilter(status=None, account_id=account_id, date_from=start,
                                                         account_meters_only=True), 0, 5,
                                           with_total=False).items
            out[account_id] = ([HistoryReading(x.id, x.reading_date, x.approved_units if x.approved_units is not None
                                               else x.consumption) for x in newest],
                               any(x.status != "rejected" for x in in_period))
        return out

    def usage_estimate_basis(self, account_ids: Sequence[int], start: dt.date, end: dt.date) -> dict:
        """For estimating a daily-usage period (services/billing/estimates.estimate_usage): per account,
        its usage in the three windows of estimates.usage_windows (UsageWindow each) and whether it has
        usage dated in the period or after it (then it is not estimated). Four set-based sums
        (usage_totals) over the batch's accounts, on every backend."""
        from services.billing.estimates import UsageWindow, usage_windows

        ids = list(dict.fromkeys(account_ids))
        if not ids:
            return {}
        sums = [(a, b, self.usage_totals(ids, a, b)) for a, b in usage_windows(start, end)]
        measured = self.usage_totals(ids, start, dt.date.max)
        return {i: (tuple(UsageWindow(a, b, t[i].days, t[i].quantity) if i in t else UsageWindow(a, b)
                          for a, b, t in sums), i in measured) for i in ids}

    @abc.abstractmethod
    def estimate_entries(self, account_ids: Sequence[int], service: str = "electricity",
                         excluding_bill_id: int | None = None) -> dict:
        """Per account that has any, the `tariff_details["estimate"]` entries of its standing bills of the
        service (services/billing/estimates.EstimateEntry: estimated bills and bills that deducted
        estimates), from which open_estimate() computes its open estimate; `excluding_bill_id` (a bill
        being re-issued) left out."""

    @abc.abstractmethod
    def current_bill_at(self, account_id: int, start: dt.date, service: str = "electricity") -> Bill | None:
        """The account's bill (of the service) starting on `start`, or, if it was superseded, the bill that replaced it
        (followed to the one that stands). None when no bill starts then."""

    @abc.abstractmethod
    def list_bill_readings(self, bill_id: int) -> list[CoveredReading]:
        """The readings a bill covers (or covered, if superseded), oldest first."""

    @abc.abstractmethod
    def billing_checks(self, limit: int = 10) -> dict[str, tuple[int, list]]:
        """Read-only, set-based checks of the billing invariants (scripts/verify_billing.py):
        {check: (how many offenders, the first `limit` of them as dicts)} for
        "uncovered_readings" (approved readings older than their meter's last billed reading that
        no bill covers), "double_covered" (readings covered by more than one bill that is not
        superseded), "units_mismatch" (bills whose units differ from their covered readings') and
        "balance_mismatch" (accounts whose open balance is not their bills' current charges minus the
        payments on them)."""

    # ---- bill runs ---------------------------------------------------------------------------
    @abc.abstractmethod
    def count_run_skips(self, start: dt.date, end: dt.date, *, service: str = "electricity",
                        source: str = "readings", area_id: int | None = None) -> int:
        """Accounts the run would bill that already have a bill of the service starting in the period."""

    @abc.abstractmethod
    def bill_run_candidates(self, start: dt.date, end: dt.date, *, service: str = "electricity",
                            source: str = "readings", area_id: int | None = None, after_account_id: int = 0,
                            limit: int = 5000) -> tuple[list[RunCandidate], int | None]:
        """Look at the next `limit` accounts by id after `after_account_id` (under `area_id` when
        given); each active one with an active connection to `service` and no bill of it starting in
        the period is a candidate, by the plan's quantity `source`:
        - "readings" (metered register readings): it has an approved reading dated in the period
          that no bill covers; with its readings (approved or pending, not covered) after each
          meter's last billed reading, dated up to the period end;
        - "usage" (daily usage): it has daily usage in the period (RunCandidate.usage: the sum);
        - "none" (a fixed fee): every such account.
        Each with its open bills. Returns (candidates, the last account id looked at, or None when
        no accounts are left)."""

    @abc.abstractmethod
    def insert_bill_batch(self, bills: list[NewBill], actor: Actor) -> BatchResult:
        """Insert priced bills and their coverage in one unit of work; accounts that already have a
        bill starting in the period are skipped; accounts whose carried bills are no longer open with
        exactly the balance carried (a payment landed) or one of whose readings another bill covers
        now are left out and returned as `stale` (price them again). A lock refuses the whole batch
        (PeriodLockedError, nothing written)."""

    def prepare_bill_batch(self, bills: list[NewBill]) -> list[NewBill]:
        """The batch with what this backend can encode before storing it (NewBill.encoded). The month
        run calls it in its helper thread while the batch before is stored; it reads and writes
        nothing. By default: the batch as it is."""
        return bills

    @abc.abstractmethod
    def start_bill_run(self, start: dt.date, end: dt.date, due: dt.date, actor: Actor, *,
                       service: str = "electricity", area_id: int | None = None) -> int: ...

    @abc.abstractmethod
    def finish_bill_run(self, run_id: int, *, status: str, skipped: int, refused: int,
                        error: str | None = None) -> None:
        """Close a run record. Its created count and total are counted from the bills it stored
        (bills.bill_run_id), so a run that died half-way is recorded as what it really did."""

    @abc.abstractmethod
    def bill_run_totals(self, run_id: int) -> tuple[int, Decimal]:
        """(bills stored by the run, their total amount), counted from bills.bill_run_id."""

    @abc.abstractmethod
    def list_bill_runs(self, limit: int = 20) -> list[BillRun]:
        """Newest first. A run still `running` shows the bills it has stored so far."""

    # ---- dashboard ---------------------------------------------------------------------------
    @abc.abstractmethod
    def dashboard_figures(self, month: str, as_of: dt.date) -> DashboardFigures: ...

    @abc.abstractmethod
    def monthly_series(self, months: list[str]) -> list[MonthlyPoint]: ...

    def monthly_consumption(self, months: list[str]) -> dict[str, Decimal]:
        """Units billed per bill month (the dashboard's chart): monthly_series without its payments."""
        return {p.month: p.consumption for p in self.monthly_series(months)}

    # ---- audit --------------------------------------------------------------------------------
    @abc.abstractmethod
    def write_audit(self, actor: Actor, action: str, entity_type: str | None = None,
                    entity_id: str | int | None = None, details: dict | None = None) -> None: ...

    @abc.abstractmethod
    def list_audit(self, *, action_prefix: str | None = None, entity_type: str | None = None,
                   entity_id: str | None = None, offset: int = 0, limit: int = 50, actor_name: str | None = None,
                   since: dt.datetime | None = None, until: dt.datetime | None = None,
                   with_total: bool = False) -> Page[AuditEntry]:
        """Newest first, filtered in the database: the action's start, the record (type and id), who
        (actor_name, case-insensitive exact), when (since <= occurred_at < until); the count if asked."""

    # ---- users and sessions -----------------------------------------------------------------
    @abc.abstractmethod
    def create_user(self, *, username: str, role: str, password_hash: str | None, actor: Actor,
                    display_name: str = "", email: str | None = None, auth_provider: str = "local") -> User: ...

    @abc.abstractmethod
    def get_user(self, *, user_id: int | None = None, username: str | None = None,
                 email: str | None = None) -> User | None: ...

    @abc.abstractmethod
    def list_users(self, offset: int = 0, limit: int = 50) -> Page[User]: ...

    @abc.abstractmethod
    def update_user(self, user_id: int, changes: dict, actor: Actor | None, action: str) -> User:
        """Change allowed columns (role, is_active, password_hash, display_name, email,
        failed_login_count, locked_until, password_changed_at). Audited as `action` when actor given."""

    @abc.abstractmethod
    def reserve_login_attempt(self, user_id: int, *, now: dt.datetime, max_failures: int,
                              stale_before: dt.datetime) -> tuple[bool, dt.datetime | None]:
        """Check and count one sign-in before its password is verified, atomically (one UPDATE):
        refused while the account is locked (locked_until > now) or while its failures plus the
        attempts already in flight reach max_failures; otherwise one more attempt is in flight.
        Attempts reserved before `stale_before` are no longer counted (their process died).
        Returns (reserved, the lock in force or None). Every reservation ends with
        record_login_failure or record_login_success."""

    @abc.abstractmethod
    def record_login_failure(self, user_id: int, *, now: dt.datetime, max_failures: int,
                             lock_until: dt.datetime) -> tuple[int, dt.datetime | None]:
        """Count one failed sign-in atomically (parallel failures are all counted) and end its
        reservation. The failure that reaches max_failures locks the account until lock_until and
        restarts the count. Returns (failures counted with this one, lock_until if this failure
        locked the account else None)."""

    @abc.abstractmethod
    def record_login_success(self, user_id: int, *, now: dt.datetime) -> dt.datetime | None:
        """End a reservation whose password was right, atomically: unless the account is locked,
        the failure count and any expired lock are cleared and None is returned (sign in);
        if it is locked, nothing else changes and the lock is returned (refuse)."""

    @abc.abstractmethod
    def create_session(self, *, token_hash: str, user_id: int, client: str | None,
                       now: dt.datetime, expires_at: dt.datetime) -> UserSession: ...

    @abc.abstractmethod
    def get_session(self, token_hash: str) -> UserSession | None: ...

    @abc.abstractmethod
    def touch_session(self, session_id: int, now: dt.datetime) -> None: ...

    @abc.abstractmethod
    def revoke_sessions(self, *, user_id: int | None = None, session_id: int | None = None,
                        except_session_id: int | None = None, reason: str, now: dt.datetime) -> int: ...

    # ---- notifications, payment events, job runs ---------------------------------------------
    @abc.abstractmethod
    def insert_notification(self, row: dict) -> Notification: ...

    @abc.abstractmethod
    def claim_notification(self, row: dict) -> Notification | None:
        """Insert a notification that goes out once (an email of a bill: channel `email`), as
        `pending`, unless one for the same bill, channel and kind is already pending or sent and
        this row is not a resend (`resend_of`): then None, and nothing is written (a unique index,
        so two senders at the same moment cannot both claim it)."""

    @abc.abstractmethod
    def update_notification(self, notification_id: int, changes: dict) -> Notification: ...

    @abc.abstractmethod
    def get_notification(self, notification_id: int) -> Notification | None: ...

    @abc.abstractmethod
    def list_notifications(self, *, status: str | None = None, bill_id: int | None = None,
                           kind: str | None = None, offset: int = 0, limit: int = 50) -> Page[Notification]: ...

    @abc.abstractmethod
    def record_payment_event(self, row: dict) -> tuple[PaymentEvent, bool]:
        """Insert unless stripe_event_id exists; returns (event, created)."""

    @abc.abstractmethod
    def list_payment_events(self, *, bill_id: int | None = None, offset: int = 0, limit: int = 50) -> Page[PaymentEvent]: ...

    @abc.abstractmethod
    def claim_job_run(self, job_id: str, run_key: str, host: str | None, now: dt.datetime) -> JobRun | None:
        """Start a run unless one exists for (job_id, run_key) that is running or completed
        (a failed run may be claimed again). None when another run holds the key."""

    @abc.abstractmethod
    def finish_job_run(self, run_id: int, *, status: str, counts: dict | None, error: str | None,
                       now: dt.datetime) -> None: ...

    @abc.abstractmethod
    def list_job_runs(self, *, job_id: str | None = None, limit: int = 20) -> list[JobRun]: ...

    @abc.abstractmethod
    def bills_due_between(self, start: dt.date, end: dt.date, statuses: tuple[str, ...],
                          after_id: int = 0, limit: int = 500) -> list[Bill]:
        """Bills with due_date in [start, end] and status in statuses, keyset by id."""

    # ---- water: daily usage, anomalies, contacts (issue 13) ------------------------------------
    @abc.abstractmethod
    def store_usage(self, batch: UsageBatch, actor: Actor) -> int:
        """Store daily usage in one unit of work, all or nothing (services/readings/usage.py): with
        `approve_reading_id`, that reading goes from pending to approved (ConflictError unless it is
        still pending with `approve_consumption`; audited reading.approve); `readings` are stored as
        approved register readings, chained per meter (ConflictError when a meter's last reading is
        no longer the one the batch follows); then the rows (reading_ref resolved to the new ids).
        Refused, nothing stored: a day that already has usage for the account (ConflictError naming
        the account and day), a day on or before the account's last billed usage day (a bill that is
        not superseded; ConflictError), a day in a locked month (PeriodLockedError). Drops the derived
        rows the days fed (usage_day_index of those days, usage_baselines made after them). Audited
        (usage.store: how many rows, the days, the label). Returns the rows stored."""

    @abc.abstractmethod
    def usage_days_present(self, account_ids: list[int], start: dt.date, end: dt.date) -> set[tuple[int, dt.date]]:
        """(account id, day) of the accounts' daily usage rows in [start, end]."""

    @abc.abstractmethod
    def usage_quantities(self, account_ids: list[int], start: dt.date, end: dt.date) -> dict[tuple[int, dt.date], Decimal]:
        """{(account id, day): stored quantity} of the accounts' daily usage rows in [start, end] (an
        import compares what it brings with what is stored: the same value again is not new, another
        value is a conflict)."""

    @abc.abstractmethod
    def usage_billed_to(self, account_ids: list[int]) -> dict[int, dt.date]:
        """Each account's last billed usage day (the latest usage_to of its bills that are not
        superseded); accounts never billed for usage are absent."""

    @abc.abstractmethod
    def list_daily_usage(self, account_id: int, start: dt.date, end: dt.date) -> list[DailyUsage]:
        """An account's daily usage rows in [start, end], oldest first (a year is 365 rows)."""

    @abc.abstractmethod
    def usage_months(self, account_id: int, start: dt.date, end: dt.date) -> list[UsageMonth]:
        """An account's usage per calendar month over [start, end], aggregated in the database, oldest first."""

    @abc.abstractmethod
    def detect_anomalies(self, start: dt.date, end: dt.date, params: "DetectionParams", actor: Actor,
                         accounts: Sequence[int] | None = None) -> dict[str, int]:
        """Run every method of `params` over the daily usage of [start, end] against each account's
        history (the baseline_days days before `start`), set-based in the database, exactly as
        services.readings.anomalies.detect does for one account; store what is found in
        usage_anomalies (at most one per account, method and period start: a period detected again
        adds only what is new). `accounts` limits the work to those accounts (the ones an import
        touched; None: every account), finding for them exactly what a whole detection finds.
        Builds the derived usage_day_index and usage_baselines rows it needs. Audited
        (usage.detect). Returns {method: anomalies added}."""

    @abc.abstractmethod
    def list_anomalies(self, flt: AnomalyFilter, offset: int = 0, limit: int = 50,
                       with_total: bool = True) -> Page[UsageAnomaly]:
        """Newest usage day first, filtered in the database (area at any level, method, type, score)."""

    @abc.abstractmethod
    def get_anomaly(self, anomaly_id: int) -> UsageAnomaly | None: ...

    @abc.abstractmethod
    def review_anomaly(self, anomaly_id: int, *, outcome: str, note: str | None, actor: Actor) -> UsageAnomaly:
        """Record the review of an open anomaly (open -> reviewed, with outcome, note, who, when).
        ConflictError when it was reviewed already; NotFoundError when there is none. Audited
        (anomaly.review)."""

    @abc.abstractmethod
    def anomaly_counts(self, start: dt.date, end: dt.date) -> list[AnomalyCount]:
        """Accounts flagged per period start and method, for periods starting in [start, end]."""

    @abc.abstractmethod
    def get_contact(self, contact_id: int) -> Contact | None: ...

    @abc.abstractmethod
    def update_contact(self, contact_id: int, changes: dict, actor: Actor) -> Contact:
        """Change a contact's name, phone, email or address (validated by the service). Audited
        (contact.update, with the old and new values). NotFoundError when there is none."""

    # ---- the customer portal (issue 16; database/schema_customers.py) -------------------------------
    @abc.abstractmethod
    def link_customer_account(self, user_id: int, account_id: int, actor: Actor) -> bool:
        """Link a utility account to a customer user (their scope then includes it). True when new,
        False when it was linked already (nothing doubled). Audited (customer.link)."""

    @abc.abstractmethod
    def customer_account_ids(self, user_id: int) -> list[int]:
        """The ids of the accounts linked to a customer user, ascending."""

    @abc.abstractmethod
    def insert_customer_code(self, row: dict) -> "CustomerCode":
        """Store a one-time code's record (its salted hash, never the code)."""

    @abc.abstractmethod
    def latest_customer_code(self, subject: str, purpose: str) -> "CustomerCode | None": ...

    @abc.abstractmethod
    def count_customer_codes(self, subject: str, since: dt.datetime) -> int:
        """Codes sent for `subject` since `since` (the rate limit)."""

    @abc.abstractmethod
    def spend_customer_code(self, code_id: int, now: dt.datetime) -> bool:
        """Mark a code used, only if it is unused and not expired at `now`: True for exactly one caller."""

    @abc.abstractmethod
    def add_customer_code_attempt(self, code_id: int) -> None: ...

    @abc.abstractmethod
    def set_customer_preference(self, user_id: int, kind: str, enabled: bool, actor: Actor) -> None:
        """Opt in or out (one row per user and kind). Audited (customer.preference)."""

    @abc.abstractmethod
    def customer_preferences(self, user_id: int) -> dict[str, bool]: ...

    @abc.abstractmethod
    def unlink_customer_account(self, user_id: int, account_id: int, actor: Actor, *, keep_last: bool = False) -> bool:
        """Remove a customer's link to an account (their scope no longer reaches it from the next
        request on). True when a link was removed, False when there was none. With `keep_last`,
        ConflictError instead of removing the user's only link (checked in the same transaction on
        SQL). Audited (customer.unlink)."""

    @abc.abstractmethod
    def account_customer_ids(self, account_id: int) -> list[int]:
        """The ids of the customer users linked to an account, ascending."""

    @abc.abstractmethod
    def customers_opted_in(self, kind: str, account_ids: list[int]) -> list[tuple[int, int]]:
        """(user_id, account_id) of the active customer users linked to any of `account_ids` who have
        `kind` (a PREFERENCE_KINDS entry) switched on, ascending. One query per chunk of ids."""

    @abc.abstractmethod
    def claim_customer_alert(self, user_id: int, kind: str, ref: str, account_id: int) -> bool:
        """Record that alert `kind` about `ref` ("bill:12", "anomaly:7") goes to this customer: True for
        exactly one caller, False when it was claimed before (the unique key of customer_alerts_sent)."""

    # ---- field operations: visits and tickets (issue 15; services/field/) -----------------------
    # Rows carry the unit's leaf area; scoped views filter them like accounts (services/storage/scoping.py).
    @abc.abstractmethod
    def create_visit(self, new: "NewVisit", actor: Actor) -> "Visit":
        """Store a visit logged by `actor` (the agent) as pending, with the unit's area, and audit
        "visit.log", in one unit of work. NotFoundError for an unknown account."""

    @abc.abstractmethod
    def get_visit(self, visit_id: int) -> "Visit | None": ...

    @abc.abstractmethod
    def list_visits(self, flt: "VisitFilter", offset: int = 0, limit: int = 50,
                    with_total: bool = True) -> Page["Visit"]:
        """Visits filtered, sorted (visited_at, newest or oldest first) and paged in the database."""

    @abc.abstractmethod
    def review_visit(self, visit_id: int, *, approve: bool, reason: str | None, actor: Actor) -> "Visit":
        """PENDING -> APPROVED / REJECTED (reason required to reject), audited "visit.approve" /
        "visit.reject". ConflictError when it was decided already; NotFoundError when there is none."""

    @abc.abstractmethod
    def visits_per_agent(self, start: dt.date, end: dt.date) -> list["AgentVisits"]:
        """Visits per agent with visit_date in [start, end]: counts by status, flagged, distinct units.
        One aggregate query (the staff performance report)."""

    @abc.abstractmethod
    def create_ticket(self, new: "NewTicket", actor: Actor) -> "Ticket":
        """Store a pending ticket with its photo attachments and audit "ticket.raise", in one unit
        of work. NotFoundError for an unknown account."""

    @abc.abstractmethod
    def get_ticket(self, ticket_id: int) -> "Ticket | None": ...

    @abc.abstractmethod
    def list_tickets(self, flt: "TicketFilter", offset: int = 0, limit: int = 50,
                     with_total: bool = True) -> Page["Ticket"]:
        """Tickets filtered (status, area, kind, age) and sorted by raised_at (oldest first by default)
        and paged in the database."""

    @abc.abstractmethod
    def ticket_counts(self, area_id: int | None = None) -> dict[str, int]:
        """{status: tickets} (under the area when given), counted in the database."""

    @abc.abstractmethod
    def review_ticket(self, ticket_id: int, *, approve: bool, reason: str | None, actor: Actor) -> "Ticket":
        """PENDING -> APPROVED / REJECTED. Approving applies the ticket's proposed change to its account
        (category/type, active flag, the primary contact's fields) in the SAME unit of work, recorded
        in the ticket's `applied` and audited (ticket.apply with old and new); rejecting changes
        nothing else. ConflictError when decided already."""

    @abc.abstractmethod
    def add_ticket_comment(self, ticket_id: int, body: str, actor: Actor) -> "TicketNote":
        """Append a comment (any status). Audited "ticket.comment"."""

    @abc.abstractmethod
    def list_ticket_notes(self, ticket_id: int) -> list["TicketNote"]:
        """The ticket's comments and attachments, oldest first (at most a few hundred per ticket)."""

    @abc.abstractmethod
    def area_staff(self, area_id: int, roles: Sequence[str], limit: int = 10) -> list[tuple[int, str]]:
        """Active users of these roles assigned to the area or an area above it, nearest assignment first
        then by username: [(user_id, username)]. A ticket's assignee is the first (services/field)."""

    # ---- issue 20: meter photos' perceptual hashes (docs/trust.md) ------------------------------------
    @abc.abstractmethod
    def record_photo_print(self, reading_id: int, meter_id: int, reading_date: dt.date,
                           photo_print: "PhotoPrint", photo_ref: str | None) -> None:
        """Store a reading's photo hash (4 indexed 16-bit bands) and EXIF time; a repeat for the same
        reading keeps the first."""

    @abc.abstractmethod
    def photo_findings(self, reading_id: int, max_distance: int = 3, limit: int = 3) -> list["PhotoFinding"]:
        """The reading's photo checked: reused (another meter's photo, or this meter's from an earlier
        month, within `max_distance` bits; closest first, at most `limit`), then stale (EXIF time far
        from the reading date). Found by four band index probes, never a scan. Scoped in the database:
        a reading outside the scope, or any reading for a customer, has none; a match on a meter outside
        the scope is kept but hidden (no meter, account, reading or photo: services/photo_checks.py)."""

    # ---- issue 20: the bills' hash chain (database/bill_chain.py, docs/trust.md) --------------------
    @abc.abstractmethod
    def bill_chain_head(self) -> "ChainHead":
        """The last seal of the bills' chain (seq 0 and the genesis hash when none): what an outside
        party keeps (ChainHead.export)."""

    @abc.abstractmethod
    def seal_unsealed_bills(self) -> "ChainHead":
        """Seal, in id order, every bill that carries no seal (stored before sealing existed, or whose
        sealing call failed on the REST backend); returns the head after."""
