"""The pages of the app and the permission each needs. Navigation shows a user only the pages
their role allows; each page also checks with ui.common.page_guard."""
from __future__ import annotations

from dataclasses import dataclass

from services.accounts.roles import Permission


@dataclass(frozen=True)
class PageSpec:
    path: str  # page script, relative to the project root
    title: str
    icon: str
    url_path: str
    permission: Permission
    section: str = "Admin"


# Order matters: a user lands on the first page they may open (admins on the dashboard,
# field engineers on Submit a reading).
PAGES: list[PageSpec] = [
    PageSpec("ui/dashboard.py", "Dashboard", ":material/monitoring:", "dashboard", Permission.VIEW_REPORTS, "Admin"),
    PageSpec("ui/review_readings.py", "Review readings", ":material/fact_check:", "review", Permission.REVIEW_READINGS,
             "Admin"),
    PageSpec("ui/bill_reading.py", "Bill a reading", ":material/request_quote:", "bill-reading", Permission.CREATE_BILL,
             "Admin"),
    PageSpec("ui/generate_bills.py", "Generate monthly bills", ":material/calendar_month:", "generate-bills",
             Permission.RUN_BILLING, "Admin"),
    PageSpec("ui/bills.py", "Bills and payments", ":material/receipt_long:", "bills", Permission.VIEW_BILLS, "Admin"),
    PageSpec("ui/period_locks.py", "Period locks", ":material/lock:", "locks", Permission.MANAGE_LOCKS, "Admin"),
    PageSpec("ui/submit_reading.py", "Submit a reading", ":material/bolt:", "submit", Permission.SUBMIT_READING,
             "Field work"),
    PageSpec("ui/my_submissions.py", "My submissions", ":material/history:", "my-submissions",
             Permission.VIEW_OWN_SUBMISSIONS, "Field work"),
    PageSpec("ui/status.py", "System status", ":material/monitor_heart:", "status", Permission.VIEW_REPORTS, "System"),
    PageSpec("ui/notifications.py", "Notifications", ":material/notifications:", "notifications",
             Permission.MANAGE_NOTIFICATIONS, "System"),
    PageSpec("ui/jobs.py", "Scheduled jobs", ":material/schedule:", "jobs", Permission.RUN_JOBS, "System"),
    PageSpec("ui/users.py", "Users", ":material/group:", "users", Permission.MANAGE_USERS, "Admin"),
    PageSpec("ui/meters.py", "Meters", ":material/electric_meter:", "meters", Permission.MANAGE_MASTER_DATA, "Admin"),
]
