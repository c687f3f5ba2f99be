"""Roles and permissions, as data.

A role is a named set of permissions. Adding a role (supervisor, head admin, customer) is
adding an entry to ROLES; services check permissions, never role names, so nothing else
changes. `require` is called by the service layer, not only by the UI.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

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
    REVIEW_ANOMALIES = "review_anomalies"  # water: daily usage, anomaly detection and review
    EDIT_CONTACTS = "edit_contacts"  # a customer's name, phone, e-mail, address


P = Permission


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    permissions: frozenset[Permission]


ROLES: dict[str, Role] = {
    "field_engineer": Role("field_engineer", "Field engineer",
                           frozenset({P.SUBMIT_READING, P.VIEW_OWN_SUBMISSIONS})),
    "admin": Role("admin", "Administrator", frozenset(Permission)),
    # Water (issue 13): Operations watch usage and review anomalies; Billing runs months and takes
    # payments; Support changes customers' contact details and reads their bills.
    "operations": Role("operations", "Operations",
                       frozenset({P.REVIEW_ANOMALIES, P.REVIEW_READINGS, P.VIEW_BILLS})),
    "billing": Role("billing", "Billing",
                    frozenset({P.RUN_BILLING, P.CREATE_BILL, P.RECORD_PAYMENT, P.VIEW_BILLS, P.VIEW_REPORTS})),
    "support": Role("support", "Support", frozenset({P.EDIT_CONTACTS, P.VIEW_BILLS})),
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

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.role == SYSTEM_ROLE.name:
            return SYSTEM_ROLE.permissions
        role = ROLES.get(self.role)
        return role.permissions if role else frozenset()

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


SYSTEM = Actor(None, "system", SYSTEM_ROLE.name)


def role_names() -> list[str]:
    return list(ROLES)


def require(actor: Actor | None, permission: Permission) -> Actor:
    actor = actor or SYSTEM
    if not actor.can(permission):
        label = ROLES[actor.role].label if actor.role in ROLES else actor.role
        raise PermissionDeniedError(f"{label} '{actor.username}' may not {permission.value.replace('_', ' ')}.")
    return actor
