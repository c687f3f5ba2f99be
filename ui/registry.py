"""The pages of the app and the permission each needs. Navigation shows a user only the pages
their role allows; each page also checks with ui.common.page_guard."""
from __future__ import annotations

from dataclasses import dataclass

from services.roles import Permission


@dataclass(frozen=True)
class PageSpec:
    path: str  # page script, relative to the project root
    title: str
    icon: str
    url_path: str
    permission: Permission
    section: str = "Admin"


PAGES: list[PageSpec] = [
    PageSpec("ui/status.py", "System status", "🩺", "status", Permission.VIEW_REPORTS, "System"),
    PageSpec("ui/notifications.py", "Notifications", ":material/notifications:", "notifications",
             Permission.MANAGE_NOTIFICATIONS, "System"),
    PageSpec("ui/users.py", "Users", ":material/group:", "users", Permission.MANAGE_USERS, "Admin"),
]
