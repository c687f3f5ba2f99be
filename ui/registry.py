"""The pages of the app and the permission each needs. Navigation shows a user only the pages
their role allows; each page also checks with ui.common.page_guard.

Some pages only make sense for some utilities (`needs`): "meters" pages (submitting and reviewing
readings, meter changes) are left out for a utility that meters nothing (a fixed fee: municipal);
"readings" pages (billing one reading) only for a utility whose plan bills readings (the society;
water bills daily usage in the month run); "usage" pages (usage anomalies) only for a utility that bills
daily usage (water); "fixed_fee" pages (the survey import) only for a utility billing a fixed fee
(municipal)."""
from __future__ import annotations

from dataclasses import dataclass

from services.accounts.roles import Permission, is_customer

SERVICE_ICON = "service"  # drawn with the utility's service icon (ui.common.SERVICE_ICONS)


@dataclass(frozen=True)
class PageSpec:
    path: str  # page script, relative to the project root
    title: str
    icon: str
    url_path: str
    permission: Permission
    section: str = "Admin"
    needs: str | None = None  # None, "meters", "readings" or "usage": see the module docstring
    whole_utility: bool = False  # about the whole utility (system health): not for area-limited staff
    for_customers: bool = False  # a portal page (issue 16): customers see these and only these

    def opens_for(self, actor) -> bool:
        """The actor's role may open the page (and, for a whole-utility page, the actor sees every area).
        Customers open portal pages only; staff never see portal pages."""
        if is_customer(actor) != self.for_customers:
            return False
        return actor.can(self.permission) and (not self.whole_utility or actor.scope.is_everything)

    def available(self, metered: bool, billing_source: str) -> bool:
        if self.needs == "meters":
            return metered
        if self.needs == "readings":
            return billing_source == "readings"
        if self.needs == "usage":
            return billing_source == "usage"
        if self.needs == "fixed_fee":
            return billing_source == "none"
        return True


# Order matters: a user lands on the first page they may open (admins on the dashboard,
# field engineers on Submit a reading, customers on My bills).
PAGES: list[PageSpec] = [
    # The customer portal (issue 16): mobile-first pages of one's own accounts.
    PageSpec("ui/portal_bills.py", "My bills", ":material/receipt_long:", "my-bills", Permission.USE_PORTAL,
             "My account", for_customers=True),
    PageSpec("ui/portal_usage.py", "My usage", ":material/show_chart:", "my-usage", Permission.USE_PORTAL,
             "My account", for_customers=True),
    PageSpec("ui/portal_alerts.py", "Alerts and paperless", ":material/notifications_active:", "my-alerts",
             Permission.USE_PORTAL, "My account", for_customers=True),
    PageSpec("ui/portal_profile.py", "My profile", ":material/person:", "my-profile", Permission.USE_PORTAL,
             "My account", for_customers=True),
    PageSpec("ui/dashboard.py", "Dashboard", ":material/monitoring:", "dashboard", Permission.VIEW_REPORTS, "Admin"),
    PageSpec("ui/anomalies.py", "Usage anomalies", ":material/troubleshoot:", "anomalies", Permission.REVIEW_ANOMALIES,
             "Admin", needs="usage"),
    PageSpec("ui/usage_import.py", "Import usage", ":material/upload_file:", "import-usage", Permission.IMPORT_USAGE,
             "Admin", needs="usage"),
    PageSpec("ui/review_readings.py", "Review readings", ":material/fact_check:", "review", Permission.REVIEW_READINGS,
             "Admin", needs="meters"),
    PageSpec("ui/bill_reading.py", "Bill a reading", ":material/request_quote:", "bill-reading", Permission.CREATE_BILL,
             "Admin", needs="readings"),
    PageSpec("ui/generate_bills.py", "Generate monthly bills", ":material/calendar_month:", "generate-bills",
             Permission.RUN_BILLING, "Admin"),
    PageSpec("ui/bills.py", "Bills and payments", ":material/receipt_long:", "bills", Permission.VIEW_BILLS, "Admin"),
    PageSpec("ui/accounts.py", "Accounts", ":material/home_work:", "accounts", Permission.VIEW_BILLS, "Admin"),
    PageSpec("ui/reports.py", "Reports", ":material/insights:", "reports", Permission.VIEW_REPORTS, "Admin"),
    PageSpec("ui/bulk_changes.py", "Bulk changes", ":material/checklist:", "bulk", Permission.BULK_UPDATE, "Admin"),
    PageSpec("ui/bank_files.py", "Bank payment files", ":material/account_balance:", "bank-files",
             Permission.IMPORT_BANK_FILE, "Admin"),
    PageSpec("ui/survey_import.py", "Survey import", ":material/upload_file:", "survey-import",
             Permission.IMPORT_SURVEY, "Admin", needs="fixed_fee", whole_utility=True),
    PageSpec("ui/period_locks.py", "Period locks", ":material/lock:", "locks", Permission.MANAGE_LOCKS, "Admin"),
    PageSpec("ui/bill_archive.py", "Bill archive", ":material/inventory_2:", "bill-archive", Permission.MANAGE_ARCHIVE,
             "Admin", whole_utility=True),
    PageSpec("ui/submit_reading.py", "Submit a reading", SERVICE_ICON, "submit", Permission.SUBMIT_READING,
             "Field work", needs="meters"),
    PageSpec("ui/my_submissions.py", "My submissions", ":material/history:", "my-submissions",
             Permission.VIEW_OWN_SUBMISSIONS, "Field work", needs="meters"),
    # Field operations (issue 15): every utility.
    PageSpec("ui/field_visit.py", "Log a visit", ":material/add_location_alt:", "log-visit", Permission.LOG_VISIT,
             "Field work"),
    PageSpec("ui/visits.py", "Visits", ":material/where_to_vote:", "visits", Permission.LOG_VISIT, "Field work"),
    PageSpec("ui/tickets.py", "Ticket manager", ":material/confirmation_number:", "tickets", Permission.RAISE_TICKET,
             "Field work"),
    PageSpec("ui/status.py", "System status", ":material/monitor_heart:", "status", Permission.VIEW_REPORTS, "System",
             whole_utility=True),
    PageSpec("ui/notifications.py", "Notifications", ":material/notifications:", "notifications",
             Permission.MANAGE_NOTIFICATIONS, "System"),
    PageSpec("ui/jobs.py", "Scheduled jobs", ":material/schedule:", "jobs", Permission.RUN_JOBS, "System"),
    PageSpec("ui/users.py", "Users", ":material/group:", "users", Permission.MANAGE_USERS, "Admin"),
    PageSpec("ui/meters.py", "Meters", ":material/electric_meter:", "meters", Permission.MANAGE_MASTER_DATA, "Admin",
             needs="meters"),
    PageSpec("ui/tariff_plans.py", "Tariff plans", ":material/price_change:", "tariff-plans",
             Permission.MANAGE_MASTER_DATA, "Admin"),
    PageSpec("ui/utility.py", "Utility", ":material/tune:", "utility", Permission.MANAGE_MASTER_DATA, "System"),
    PageSpec("ui/portal_invite.py", "Invite a customer", ":material/person_add:", "invite-customer",
             Permission.INVITE_CUSTOMERS, "Admin"),
    # issue 18: the audit log (whole utility) and one page per account (opened from a list or a link)
    PageSpec("ui/audit_log.py", "Audit log", ":material/manage_search:", "audit", Permission.VIEW_AUDIT, "System",
             whole_utility=True),
]
