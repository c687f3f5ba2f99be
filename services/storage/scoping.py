"""Scoped views of a storage backend: what an area-limited actor (services/accounts/scopes.py) may
read and change, decided once for every method of the storage contract.

`Storage.scoped(scope)` returns a view of the same backend (same engine or HTTP client) whose
`scope` is set. Every method of the contract is in exactly one of these sets (a test checks it, so
a method added later must be placed):

- FILTERED: reads the backend itself filters by the scope: SQL predicates on SQLite and PostgreSQL
  (services/storage/sql_scope.py), row level security on Supabase (database/supabase/80_scopes.sql).
  A record outside the scope is not there: get_* return None, lists and counts leave it out.
- GUARDED: calls that name records (a bill, an account, a reading, a meter): the view first
  reads each named record through itself, and answers NotFoundError, exactly as for a record that
  does not exist, when one lies outside the scope; then the call goes through.
- FREE: nothing area-bound (the utility's settings, tariff plans, locks, users and sessions, jobs,
  the audit trail's writes).
- REFUSED, and any method of the contract in no list, on a scoped view (PermissionDeniedError): the month run, master data,
  whole-database checks and admin lists are not for area-limited staff.
"""
from __future__ import annotations

import copy
import functools
import inspect
from typing import Callable

from services.errors import NotFoundError, PermissionDeniedError

FILTERED = frozenset({
    "list_areas", "get_area", "get_account", "list_accounts", "service_connection", "usage_totals", "get_meter",
    "meter_choice", "list_meter_choices", "meter_history", "find_reading", "get_reading", "list_readings",
    "open_balance", "get_bill", "list_bill_lines", "list_bills", "list_bills_after", "list_payments",
    "dashboard_figures", "monthly_series", "monthly_consumption",
    # municipal (issue 14)
    "list_bank_payments", "collection_report", "aging_report", "consumer_analytics", "staff_performance",
    # field operations (issue 15): visits and tickets carry the unit's area
    "get_visit", "list_visits", "visits_per_agent", "get_ticket", "list_tickets", "ticket_counts", "list_ticket_notes",
    # issue 20: the checked photo's meter must be in scope; a match outside it is hidden (docs/trust.md)
    "photo_findings",
    # the archive (issue 14): archived bills carry their area, like live ones
    "find_archived_bills",
})

FREE = frozenset({
    "ensure_schema", "ping", "refresh_statistics", "utility_settings_row", "get_tariff_plan", "list_tariff_plans",
    "locked_months", "list_period_locks", "readings_billed", "hold_meter", "write_audit",
    "create_user", "get_user", "list_users", "update_user", "reserve_login_attempt", "record_login_failure",
    "record_login_success", "create_session", "get_session", "touch_session", "revoke_sessions",
    "insert_notification", "update_notification", "claim_job_run", "finish_job_run", "list_job_runs",
    "record_payment_event",
    # municipal
    "list_user_areas", "list_bank_files",
    # the customer portal (issue 16): keyed by the customer user, like sessions; the portal service calls
    # them on the unscoped storage with the signed-in customer's own user id
    "link_customer_account", "customer_account_ids", "insert_customer_code", "latest_customer_code",
    "count_customer_codes", "spend_customer_code", "add_customer_code_attempt", "set_customer_preference",
    "customer_preferences", "unlink_customer_account", "account_customer_ids", "customers_opted_in", "claim_customer_alert",
    # field operations: who looks after an area (a ticket's assignee)
    "area_staff",
    # the month run's batch encoded ahead of storing it: reads and writes nothing
    "prepare_bill_batch",
    # when the consumer_patterns job last counted: a time, no data
    "consumer_patterns_computed_at",
})

REFUSED = frozenset({
    "table_counts", "bulk_insert", "lookup_ids", "save_utility_settings", "ensure_areas", "save_tariff_plan",
    "master_data_state", "apply_master_data", "list_meter_changes", "add_period_lock", "count_bills_ending_in",
    "probe_lock_enforced", "mark_overdue", "mark_overdue_notified", "billing_checks", "count_run_skips",
    "bill_run_candidates", "estimate_basis", "usage_estimate_basis", "refresh_consumer_patterns", "start_bill_run", "finish_bill_run", "bill_run_totals", "list_bill_runs", "list_audit",
    "list_payment_events", "bills_due_between", "get_notification",
    # municipal: the head office's work
    "set_user_areas", "record_bank_file", "bank_file_by_sha",
    # the survey import may move a unit between areas and create units: the head office's work
    "survey_state", "apply_survey",
    # water (issue 13): the utility's usage and its anomaly review are not area-limited staff's work
    "store_usage", "usage_days_present", "usage_quantities", "detect_anomalies", "list_anomalies", "get_anomaly",
    "review_anomaly", "anomaly_counts", "get_contact", "update_contact",
    # issue 20: the bills' chain is the whole utility's
    "bill_chain_head", "seal_unsealed_bills",
    # the bill archive moves the whole utility's months (issue 14)
    "archive_bill_month", "restore_bill_month", "list_archived_months", "bill_months_before",
})


# ---- guards: read what a call names through the scoped view first -----------------------------
def _need(found, what: str, ident) -> None:
    if not found:
        raise NotFoundError(f"{what} {ident} does not exist.")


def _bill(name: str):
    def check(view, args: dict) -> None:
        _need(view.get_bill(args[name]), "Bill", args[name])
    return check


def _bills(name: str):
    def check(view, args: dict) -> None:
        for bill_id in args[name]:
            _need(view.get_bill(bill_id), "Bill", bill_id)
    return check


def _account(get_id: Callable[[dict], int]):
    def check(view, args: dict) -> None:
        account_id = get_id(args)
        _need(view.get_account(account_id=account_id), "Account", account_id)
    return check


def _accounts(get_ids: Callable[[dict], list[int]]):
    def check(view, args: dict) -> None:
        for account_id in dict.fromkeys(get_ids(args)):
            _need(view.get_account(account_id=account_id), "Account", account_id)
    return check


def _reading(name: str):
    def check(view, args: dict) -> None:
        _need(view.get_reading(args[name]), "Reading", args[name])
    return check


def _readings(name: str):
    def check(view, args: dict) -> None:
        for reading_id in args[name]:
            _need(view.get_reading(reading_id), "Reading", reading_id)
    return check


def _meter(get_id: Callable[[dict], int]):
    def check(view, args: dict) -> None:
        meter_id = get_id(args)
        _need(view.get_meter(meter_id=meter_id), "Meter", meter_id)
    return check


def _notifications(view, args: dict) -> None:
    if args.get("bill_id") is None:
        raise PermissionDeniedError("The notifications log of the whole utility is not for area-limited staff.")
    _need(view.get_bill(args["bill_id"]), "Bill", args["bill_id"])


def _notification_row(view, args: dict) -> None:
    bill_id = args["row"].get("bill_id")
    if bill_id is None:
        raise PermissionDeniedError("A notification of the whole utility is not for area-limited staff.")
    _need(view.get_bill(bill_id), "Bill", bill_id)


def _visit(name: str):
    def check(view, args: dict) -> None:
        _need(view.get_visit(args[name]), "Visit", args[name])
    return check


def _ticket(name: str):
    def check(view, args: dict) -> None:
        _need(view.get_ticket(args[name]), "Ticket", args[name])
    return check


def _field_new_ticket(view, args: dict) -> None:
    new = args["new"]
    _need(view.get_account(account_id=new.account_id), "Account", new.account_id)
    if new.visit_id is not None:
        _need(view.get_visit(new.visit_id), "Visit", new.visit_id)
    if new.bill_id is not None:
        _need(view.get_bill(new.bill_id), "Bill", new.bill_id)


GUARDED: dict[str, Callable] = {
    "record_payment": _bill("bill_id"),
    "set_bill_status": _bill("bill_id"),
    "set_payment_link": _bill("bill_id"),
    "settle_bills_in_full": _bills("bill_ids"),
    "list_bill_readings": _bill("bill_id"),
    "estimate_entries": _accounts(lambda a: a["account_ids"]),
    "insert_bill": _account(lambda a: a["new"].account_id),
    "insert_bill_batch": _accounts(lambda a: [nb.account_id for nb in a["bills"]]),
    "coverage_chain": _account(lambda a: a["account_id"]),
    "current_bill_at": _account(lambda a: a["account_id"]),
    "review_reading": _reading("reading_id"),
    "undo_review": _reading("reading_id"),
    "approve_readings": _readings("reading_ids"),
    "set_reading_photo_url": _reading("reading_id"),
    "set_reading_ai_opinion": _reading("reading_id"),
    "reading_neighbours": _meter(lambda a: a["meter_id"]),
    "insert_reading_checked": _meter(lambda a: a["meter_id"]),
    "record_meter_change": _meter(lambda a: a["req"].meter_id),
    "list_notifications": _notifications,
    # municipal
    "set_accounts_active": _accounts(lambda a: a["account_ids"]),
    # bills as documents (issue 17)
    "bill_document_parts": _bills("bill_ids"),
    "claim_notification": _notification_row,
    # water: one account's usage
    "list_daily_usage": _account(lambda a: a["account_id"]),
    "usage_months": _account(lambda a: a["account_id"]),
    # how far an account's usage is billed (its next bill's period: the anticipated bill)
    "usage_billed_to": _accounts(lambda a: a["account_ids"]),
    # municipal: one unit's survey and its name/contact history
    "account_survey": _account(lambda a: a["account_id"]),
    "list_account_history": _account(lambda a: a["account_id"]),
    # field operations (issue 15)
    "create_visit": _account(lambda a: a["new"].account_id),
    "create_ticket": _field_new_ticket,
    "review_visit": _visit("visit_id"),
    "review_ticket": _ticket("ticket_id"),
    "add_ticket_comment": _ticket("ticket_id"),
    # issue 20: a reading's photo hash, stored by whoever may see the reading
    "record_photo_print": _reading("reading_id"),
}


def _guarded(view, name: str, method, check):
    signature = inspect.signature(method)

    @functools.wraps(method)
    def call(*args, **kwargs):
        bound = signature.bind(view, *args, **kwargs)
        bound.apply_defaults()
        check(view, bound.arguments)
        return method(view, *args, **kwargs)

    return call


def _refused(name: str):
    def call(*args, **kwargs):
        raise PermissionDeniedError(f"'{name.replace('_', ' ')}' works on the whole utility; an area-limited "
                                    "account may not do it.")

    return call


def _filtered(view, method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with view.scope_reading():
            return method(view, *args, **kwargs)

    return call


def unclassified() -> set[str]:
    """Methods of the storage contract in none of the lists above: refused on a scoped view (fail
    closed), so a method added to the contract later is never read unfiltered by staff."""
    from services.storage.base import Storage

    return set(Storage.__abstractmethods__) - FILTERED - FREE - set(GUARDED) - REFUSED


def scoped_view(storage, scope):
    """`storage` limited to `scope` (intersected with any scope it already has)."""
    narrowed = storage.scope.intersect(scope)
    if narrowed == storage.scope:
        return storage
    view = copy.copy(storage)
    refused = REFUSED | unclassified()
    # Start from the class's methods (a view of a view must not stack wrappers).
    for name in list(vars(view)):
        if name in GUARDED or name in refused or name in FILTERED:
            del view.__dict__[name]
    view.scope = narrowed
    view.scope_changed()
    if not narrowed.is_everything:
        cls = type(view)
        for name in FILTERED:
            method = getattr(cls, name, None)
            if method is not None:
                setattr(view, name, _filtered(view, method))
        for name, check in GUARDED.items():
            method = getattr(cls, name, None)
            if method is not None:
                setattr(view, name, _guarded(view, name, method, check))
        for name in refused:
            if hasattr(cls, name):
                setattr(view, name, _refused(name))
    return view


# ---- the facade: a call made for an actor reads through the actor's scope ----------------------
def actor_scoped(cls):
    """Class decorator for the service facades (DatabaseService): every public method that takes an
    `actor` runs on the facade's view of the actor's scope (cls.scoped(scope)), so passing the actor is
    enough; and a facade already bound to a scope (for_actor) stays bound whatever actor is passed."""
    # Inherited methods too (the water mixin's daily_usage, usage_by_month, ...): a method reached
    # through a base class must not read unscoped for an actor with a scope (issue 16).
    names = {n for k in cls.__mro__ if k is not object for n in vars(k)}
    for name in sorted(names):
        fn = getattr(cls, name, None)
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        params = inspect.signature(fn).parameters
        if "actor" not in params:
            continue
        setattr(cls, name, _run_in_actor_scope(fn))
    return cls


def _run_in_actor_scope(fn):
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        actor = kwargs.get("actor")
        if actor is None and args:
            try:
                actor = signature.bind(self, *args, **kwargs).arguments.get("actor")
            except TypeError:
                actor = None
        scope = getattr(actor, "scope", None)
        if scope is not None and not self.storage.scope.within(scope):
            return fn(self.scoped(scope), *args, **kwargs)
        return fn(self, *args, **kwargs)

    return call
