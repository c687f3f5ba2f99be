"""The customer portal's service (issue 16): what a signed-in customer may read and change.

Every read goes through `db.for_actor(actor)`: the storage view of the customer's scope (their
linked accounts; services/accounts/scopes.py), so a bill, account, reading or usage of anyone else
answers NotFoundError exactly like one that does not exist. The service also checks USE_PORTAL.

Who gets in: staff invite (INVITE_CUSTOMERS: a one-time code to the phone or e-mail on file), or a
customer registers with their account number plus a code sent to the phone or e-mail on file. A
changed phone or e-mail takes effect only when the code sent to the NEW number/address is typed
back; every change is audited (contact.update by the customer, customer.profile) so Support sees it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.accounts.passwords import hash_password
from services.accounts.password_policy import check_password
from services.accounts.roles import Actor, Permission, require
from services.customers.codes import INVITE_TTL
from services.customers.codes_service import CodeDesk
from services.errors import ConflictError, DuplicateError, NotFoundError, ValidationError
from services.models import Account, Bill, BillFilter, Page
from database.schema import PREFERENCE_KINDS  # (schema_customers, through schema: one import order)

CUSTOMER_ROLE = "customer"
PREFERENCE_LABELS = {
    "high_usage_alert": "High-usage alert (usage well above your usual)",
    "leak_alert": "Possible-leak alert (usage that never drops to zero)",
    "bill_ready": "Tell me when a new bill is ready",
    "due_reminder": "Remind me before a bill is due",
    "paperless": "Paperless billing (no printed bill)",
}


@dataclass(frozen=True)
class ContactChange:
    field: str  # phone / email
    sent_to: str  # masked


class CustomerPortal:
    def __init__(self, svc):
        self.svc = svc
        self.db = svc.db  # unscoped: only for the customer's own records (codes, links, users)
        self.storage = svc.db.storage
        from services.integrations.wiring import notifier_of

        self.codes = CodeDesk(self.storage, notifier_of(svc))

    # ---- the customer's view ----------------------------------------------------------------------
    def view(self, actor: Actor):
        """The facade as this customer sees the utility (their accounts only)."""
        require(actor, Permission.USE_PORTAL)
        return self.db.for_actor(actor)

    def accounts(self, actor: Actor) -> list[Account]:
        db = self.view(actor)
        ids = sorted(actor.scope.account_ids or ())
        return [a for a in (db.storage.get_account(account_id=i) for i in ids) if a is not None]

    def account(self, actor: Actor, account_id: int) -> Account:
        found = self.view(actor).storage.get_account(account_id=account_id)
        if found is None:
            raise NotFoundError(f"Account {account_id} does not exist.")
        return found

    def bills(self, actor: Actor, account_id: int | None = None, offset: int = 0, limit: int = 24) -> Page[Bill]:
        db = self.view(actor)
        if account_id is not None:
            self.account(actor, account_id)
        return db.list_bills(BillFilter(account_id=account_id), offset, limit, actor=actor)

    def bill(self, actor: Actor, bill_id: int):
        return self.view(actor).bill_detail(bill_id, actor=actor)

    def bill_pdf(self, actor: Actor, bill_id: int):
        from services.documents.service import BillDocuments

        return BillDocuments(self.view(actor)).bill_pdf(bill_id, actor)

    def payment(self, actor: Actor, bill_id: int) -> dict:
        """How to pay a bill: the Stripe payment link when one is configured (made once, kept on the
        bill), else the instructions with the bill number and the PSID (municipal)."""
        db = self.view(actor)
        bill = db.get_bill(bill_id)
        open_amount = bill.total_amount - bill.amount_paid
        out = {"bill": bill, "open": open_amount, "url": bill.payment_link_url, "psid": bill.psid}
        if bill.status in ("paid", "cancelled", "superseded", "carried_forward") or open_amount <= 0:
            return {**out, "url": None}
        if out["url"] is None:
            try:
                link = self.svc.payment_links.create_payment_link(bill)  # None when Stripe is not configured
            except Exception:  # a provider outage: the instructions still say how to pay
                link = None
            if link is not None:
                # stored on the bill (guarded: the bill is the customer's), so the same link is reused
                db.storage.set_payment_link(bill.id, link.link_id, link.url, actor)
                out["url"] = link.url
        return out

    # ---- preferences ------------------------------------------------------------------------------
    def report_problem(self, actor: Actor, bill_id: int, kind: str, description: str):
        """A ticket about one of the customer's bills (issue 15), raised as staff raise theirs: pending,
        assigned to the area's supervisor, audited. Another account's bill answers NotFoundError."""
        from services.field import service as field
        from services.field.models import CUSTOMER_TICKET_KINDS, TICKET_KINDS

        if kind not in CUSTOMER_TICKET_KINDS:
            raise ValidationError("kind", f"{kind!r} is not a problem a customer reports here.",
                                  "Choose one of: " + ", ".join(TICKET_KINDS[k] for k in CUSTOMER_TICKET_KINDS) + ".")
        bill = self.view(actor).get_bill(bill_id)
        return field.raise_ticket(self.db, bill.account_id, kind, description, actor=actor, source="portal",
                                  bill_id=bill.id)

    def my_tickets(self, actor: Actor, account_id: int, limit: int = 20):
        """The customer's tickets about this account, newest first (any status)."""
        from services.field.models import TicketFilter

        self.account(actor, account_id)
        flt = TicketFilter(status=None, account_id=account_id, oldest_first=False)
        return self.view(actor).storage.list_tickets(flt, 0, limit, with_total=False).items

    def preferences(self, actor: Actor) -> dict[str, bool]:
        require(actor, Permission.USE_PORTAL)
        stored = self.storage.customer_preferences(actor.user_id)
        return {k: stored.get(k, False) for k in PREFERENCE_KINDS}

    def set_preference(self, actor: Actor, kind: str, enabled: bool) -> None:
        require(actor, Permission.USE_PORTAL)
        if kind not in PREFERENCE_KINDS:
            raise ValidationError("kind", f"'{kind}' is not an alert or paperless option.",
                                  f"Use one of {', '.join(PREFERENCE_KINDS)}.")
        if self.preferences(actor).get(kind) == bool(enabled):
            return
        self.storage.set_customer_preference(actor.user_id, kind, bool(enabled), actor)
        # Confirm on the notification channels (logged like every message).
        self.storage.insert_notification({
            "kind": "customer_preference", "channel": "log", "bill_id": None, "contact_id": None,
            "recipient": actor.username, "status": "skipped", "attempts": 0,
            "message": f"{PREFERENCE_LABELS[kind]}: {'on' if enabled else 'off'} (customer {actor.username}).",
            "error": "logged: the confirmation is kept in this log"})

    # ---- profile ----------------------------------------------------------------------------------
    def request_contact_change(self, actor: Actor, account_id: int, field: str, value: str) -> ContactChange:
        """Send a code to the NEW phone or e-mail; nothing changes until it is typed back."""
        from services.water_service import EMAIL, normalize_phone

        acct = self.account(actor, account_id)
        if acct.contact_id is None:
            raise ValidationError("account", f"{acct.code} has no contact on file.", "Ask Support to add one.")
        if field == "phone":
            new = normalize_phone(value)
            if new is None:
                raise ValidationError("phone", "is empty.", "Type the new phone number.")
        elif field == "email":
            new = (value or "").strip()
            if not EMAIL.fullmatch(new):
                raise ValidationError("email", f"'{new}' is not an e-mail address.", "Type it as name@example.com.")
        else:
            raise ValidationError("field", f"'{field}' cannot be confirmed with a code.", "Use phone or email.")
        _, shown = self.codes.send(purpose=field, subject=f"user:{actor.user_id}", recipient=new,
                                   utility_name=self.db.utility().name, user_id=actor.user_id, account_id=acct.id,
                                   new_value=new, contact_id=acct.contact_id)
        return ContactChange(field, shown)

    def confirm_contact_change(self, actor: Actor, field: str, code: str):
        """Apply the pending change of `field` when `code` is the one sent to the new value."""
        require(actor, Permission.USE_PORTAL)
        stored = self.codes.check(purpose=field, subject=f"user:{actor.user_id}", code=code)
        acct = self.account(actor, stored.account_id)  # still theirs
        contact = self.storage.update_contact(acct.contact_id, {field: stored.new_value}, actor)
        self.storage.write_audit(actor, "customer.profile", "account", acct.id, {"field": field, "confirmed": True})
        return contact

    def change_address(self, actor: Actor, account_id: int, address: str):
        acct = self.account(actor, account_id)
        text = (address or "").strip()
        if len(text) > 300:
            raise ValidationError("address", "is longer than 300 characters.", "Shorten it.")
        if acct.contact_id is None:
            raise ValidationError("account", f"{acct.code} has no contact on file.", "Ask Support to add one.")
        out = self.storage.update_contact(acct.contact_id, {"address": text or None}, actor)
        self.storage.write_audit(actor, "customer.profile", "account", acct.id, {"field": "address"})
        return out

    def profile_changes(self, actor: Actor, account_id: int, limit: int = 20):
        """Support's view of what a customer changed in the portal (the audit trail of the account)."""
        require(actor, Permission.EDIT_CONTACTS)
        acct = self.db.for_actor(actor).get_account(account_id)
        return self.storage.list_audit(action_prefix="customer.", entity_type="account", entity_id=str(acct.id),
                                       limit=limit).items

    # ---- getting in -------------------------------------------------------------------------------
    def _account_by_code(self, account_code: str) -> Account:
        acct = self.storage.get_account(code=(account_code or "").strip().upper())
        if acct is None:
            raise ValidationError("account", f"'{account_code}' is not an account number here.",
                                  "Type it as printed on your bill.")
        return acct

    def invite(self, actor: Actor, account_code: str, via: str = "phone") -> str:
        """Staff send an invitation code to the phone (or e-mail) on file. Returns where it went (masked)."""
        actor = require(actor, Permission.INVITE_CUSTOMERS)
        acct = self.db.for_actor(actor).get_account(self._account_by_code(account_code).id)
        recipient = acct.contact_email if via == "email" else acct.contact_phone
        if not recipient:
            raise ValidationError(via, f"{acct.code} has no {via} on file.", "Add it on the account first.")
        _, shown = self.codes.send(purpose="invite", subject=f"account:{acct.id}", recipient=recipient,
                                   utility_name=self.db.utility().name, account_id=acct.id, ttl=INVITE_TTL,
                                   contact_id=acct.contact_id)
        self.storage.write_audit(actor, "customer.invite", "account", acct.id, {"via": via, "to": shown})
        return shown

    def request_registration(self, account_code: str, via: str = "phone") -> str:
        """Self-registration, step 1: a code to the phone or e-mail on file for the account."""
        acct = self._account_by_code(account_code)
        recipient = acct.contact_email if via == "email" else acct.contact_phone
        if not recipient:
            raise ValidationError(via, f"there is no {via} on file for {acct.code}.",
                                  "Try the other option, or ask the office for an invitation.")
        _, shown = self.codes.send(purpose="register", subject=f"account:{acct.id}", recipient=recipient,
                                   utility_name=self.db.utility().name, account_id=acct.id, contact_id=acct.contact_id)
        return shown

    def register(self, account_code: str, code: str, username: str, password: str, display_name: str = "") -> Actor:
        """Self-registration, step 2 (or accepting an invitation): a new customer user linked to the account."""
        from services.accounts.auth import USERNAME_RE
        from services.accounts.roles import SYSTEM

        acct = self._account_by_code(account_code)
        username = (username or "").strip()
        if not USERNAME_RE.match(username):
            raise ValidationError("username", f"'{username}' is not a valid username.",
                                  "Use 3-64 letters, digits or . _ - @ | +, starting with a letter or digit.")
        if self.storage.get_user(username=username) is not None:
            raise DuplicateError(f"The username '{username}' is taken; choose another.")
        check_password(password or "", username)
        self.codes.check(purpose=("register", "invite"), subject=f"account:{acct.id}", code=code)
        user = self.storage.create_user(username=username, role=CUSTOMER_ROLE, password_hash=hash_password(password),
                                        actor=SYSTEM, display_name=(display_name or acct.name or username).strip()[:128])
        self.storage.link_customer_account(user.id, acct.id, SYSTEM)
        from services.accounts.scopes import actor_for

        return actor_for(self.storage, user, "portal")

    def link_account(self, actor: Actor, account_code: str, code: str) -> Account:
        """A signed-in customer adds another account (a code sent to that account's phone or e-mail)."""
        require(actor, Permission.USE_PORTAL)
        acct = self._account_by_code(account_code)
        self.codes.check(purpose=("register", "invite"), subject=f"account:{acct.id}", code=code)
        self.storage.link_customer_account(actor.user_id, acct.id, actor)
        return acct

    # ---- unlinking --------------------------------------------------------------------------------
    def linked_customers(self, actor: Actor, account_id: int) -> list:
        """Support's view: the customer sign-ins linked to an account in the staff member's scope."""
        actor = require(actor, Permission.INVITE_CUSTOMERS)
        acct = self.db.for_actor(actor).get_account(account_id)  # NotFoundError outside their areas
        users = [self.storage.get_user(user_id=u) for u in self.storage.account_customer_ids(acct.id)]
        return [u for u in users if u is not None]

    def unlink(self, actor: Actor, user_id: int, account_id: int) -> bool:
        """Staff (Support, admins: INVITE_CUSTOMERS) remove a customer sign-in's link to an account in
        their scope, also the last one (the sign-in then sees nothing). Audited (customer.unlink on the
        user, customer.unlinked on the account for its page). False when it was not linked."""
        actor = require(actor, Permission.INVITE_CUSTOMERS)
        acct = self.db.for_actor(actor).get_account(account_id)  # NotFoundError outside their areas
        done = self.storage.unlink_customer_account(user_id, acct.id, actor)
        if done:
            self.storage.write_audit(actor, "customer.unlinked", "account", acct.id, {"user_id": user_id, "by": "staff"})
        return done

    def remove_account(self, actor: Actor, account_id: int) -> Account:
        """A customer removes one of their own linked accounts, never the last one (ValidationError).
        From the next request on their scope no longer reaches it. Audited."""
        acct = self.account(actor, account_id)  # their own, or NotFoundError
        if len(actor.scope.account_ids or ()) <= 1:
            raise ValidationError("account", f"{acct.code} is the only account on your sign-in.",
                                  "Add the other account first, or ask Support to close your sign-in.")
        try:
            self.storage.unlink_customer_account(actor.user_id, acct.id, actor, keep_last=True)
        except ConflictError as exc:
            raise ValidationError("account", f"{acct.code} is the only account on your sign-in.",
                                  "Add the other account first, or ask Support to close your sign-in.") from exc
        self.storage.write_audit(actor, "customer.unlinked", "account", acct.id, {"user_id": actor.user_id,
                                                                                 "by": "customer"})
        return acct


def open_amount(bill: Bill) -> Decimal:
    return bill.total_amount - bill.amount_paid


def months_back(day: dt.date, n: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - n, 12)
    return dt.date(y, m + 1, 1)
