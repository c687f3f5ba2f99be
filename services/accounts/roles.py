"""Roles and permissions, as data.

A role is a named set of permissions. Adding a role (supervisor, head admin, customer) is
adding an entry to ROLES; services check permissions, never role names, so nothing else
changes. `require` is called by the service layer, not only by the UI.

A role may also be area-limited (`Role.scoped`): its users see only the areas assigned to them
(services/accounts/scopes.py), which the storage backends apply to every read. The municipal
staff roles of seed 003 are: AGENT, SUPERVISOR and MANAGER (area-limited) and HEAD (everything).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from services.accounts.scopes import EVERYTHING, NOTHING, Scope
from services.errors import PermissionDeniedError


class Permission(str, Enum):
    SUBMIT_READING = "submit_reading"
    VIEW_OWN_SUBMISSIONS = "view_own_submissions"
    REVIEW_READINGS = "review_readings"
    CREATE_BILL = "create_bill"
    RUN_BILLING = "run_billing"
    RECORD_PAYMENT = "record_payment"
    VIEW_BILLS = "view_bills"
    VIEW_REPORTS = "view_reports"
    MANAGE_USERS = "manage_users"
    MANAGE_LOCKS = "manage_locks"
    MANAGE_MASTER_DATA = "manage_master_data"
    VIEW_AUDIT = "view_audit"
    MANAGE_NOTIFICATIONS = "manage_notifications"
    RUN_JOBS = "run_jobs"
    # The municipal utility (seed 003, issue 14).
    IMPORT_SURVEY = "import_survey"
    IMPORT_BANK_FILE = "import_bank_file"
    BULK_UPDATE = "bulk_update"
    MANAGE_ARCHIVE = "manage_archive"
    LOG_VISIT = "log_visit"
    RAISE_TICKET = "raise_ticket"
    RESOLVE_TICKET = "resolve_ticket"
    REVIEW_ANOMALIES = "review_anomalies"  # water: daily usage, anomaly detection and review
    EDIT_CONTACTS = "edit_contacts"  # a customer's name, phone, e-mail, address
    # The customer portal (issue 16): a customer's own bills, usage and profile. Staff roles do not
    # hold it (the portal is not a staff page); admin and the system hold every permission.
    USE_PORTAL = "use_portal"
    INVITE_CUSTOMERS = "invite_customers"  # staff: send a customer an invitation code
    REVIEW_VISITS = "review_visits"  # field operations (issue 15): approve or reject agents' visits
    IMPORT_USAGE = "import_usage"  # water: a usage file (CSV/xlsx) of daily usage or meter values


P = Permission


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    permissions: frozenset[Permission]
    scoped: bool = False  # its users see only the areas assigned to them (services/accounts/scopes.py)
    customer: bool = False  # its users see only the accounts linked to them (issue 16: the portal)


_AGENT = frozenset({P.VIEW_BILLS, P.LOG_VISIT, P.RAISE_TICKET})
_SUPERVISOR = _AGENT | {P.VIEW_REPORTS, P.RESOLVE_TICKET, P.REVIEW_VISITS}
_MANAGER = _SUPERVISOR | {P.RECORD_PAYMENT, P.BULK_UPDATE}

_STAFF_ALL = frozenset(Permission) - {P.USE_PORTAL}  # every staff permission; the portal is for customers

ROLES: dict[str, Role] = {
    "field_engineer": Role("field_engineer", "Field engineer",
                           frozenset({P.SUBMIT_READING, P.VIEW_OWN_SUBMISSIONS, P.RAISE_TICKET})),
    "admin": Role("admin", "Administrator", _STAFF_ALL),
    # Seed 003's staff roles (AGENT, SUPERVISOR, MANAGER, HEAD). Agents work in their union councils:
    # they look up units, bills and payments and log visits and tickets; supervisors also see the
    # reports of their councils and resolve tickets; a manager runs a city/tehsil (payments, bulk
    # changes); the head office sees everything and manages staff.
    "agent": Role("agent", "Agent", _AGENT, scoped=True),
    "supervisor": Role("supervisor", "Supervisor", _SUPERVISOR, scoped=True),
    "manager": Role("manager", "Manager", _MANAGER, scoped=True),
    "head": Role("head", "Head", _STAFF_ALL),
    # Water (issue 13): Operations watch usage and review anomalies; Billing runs months and takes
    # payments; Support changes customers' contact details and reads their bills.
    "operations": Role("operations", "Operations",
                       frozenset({P.REVIEW_ANOMALIES, P.REVIEW_READINGS, P.VIEW_BILLS, P.RAISE_TICKET, P.RESOLVE_TICKET,
                                  P.IMPORT_USAGE})),
    "billing": Role("billing", "Billing",
                    frozenset({P.RUN_BILLING, P.CREATE_BILL, P.RECORD_PAYMENT, P.VIEW_BILLS, P.VIEW_REPORTS})),
    "support": Role("support", "Support", frozenset({P.EDIT_CONTACTS, P.VIEW_BILLS, P.INVITE_CUSTOMERS, P.RAISE_TICKET})),
    # The customer portal (issue 16): a flat owner, a shop owner, a household. Their own bills only:
    # every read goes through the scope of their linked accounts.
    # VIEW_BILLS lets the bill reads (pages and API) answer them; the scope makes it their bills only, and
    # the navigation never shows them a staff page (ui/registry.py: PageSpec.for_customers).
    "customer": Role("customer", "Customer", frozenset({P.USE_PORTAL, P.VIEW_BILLS, P.RAISE_TICKET}), customer=True),
}

# The identity scripts and scheduled jobs act as. Only code running on the server holds it.
SYSTEM_ROLE = Role("system", "System", frozenset(Permission))


@dataclass(frozen=True)
class Actor:
    """Who is doing something: written to audit_log with every change."""

    user_id: int | None
    username: str
    role: str
    client: str | None = None
    scope: Scope = EVERYTHING  # the areas this actor may see (services/accounts/scopes.py)

    def __post_init__(self):
        # Fail closed: an area-limited role's actor made without its areas (a header token with such a
        # role, a caller that forgot actor_for) sees nothing, never everything.
        role = ROLES.get(self.role)
        if role is not None and role.scoped and self.scope.is_everything:
            object.__setattr__(self, "scope", NOTHING)
        if role is not None and role.customer and not self.scope.is_accounts:
            object.__setattr__(self, "scope", Scope(frozenset(), frozenset()))

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.role == SYSTEM_ROLE.name:
            return SYSTEM_ROLE.permissions
        role = ROLES.get(self.role)
        return role.permissions if role else frozenset()

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


SYSTEM = Actor(None, "system", SYSTEM_ROLE.name)


def is_customer(actor: Actor | None) -> bool:
    """The actor is a portal customer (sees the portal, never staff pages)."""
    role = ROLES.get(actor.role) if actor is not None else None
    return bool(role and role.customer)


def role_names() -> list[str]:
    return list(ROLES)


def require(actor: Actor | None, permission: Permission) -> Actor:
    actor = actor or SYSTEM
    if not actor.can(permission):
        label = ROLES[actor.role].label if actor.role in ROLES else actor.role
        raise PermissionDeniedError(f"{label} '{actor.username}' may not {permission.value.replace('_', ' ')}.")
    return actor
