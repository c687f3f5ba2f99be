"""REST backend part: the areas each staff member works in (services/storage/sql_staff.py)."""
from __future__ import annotations

from services.accounts.roles import Actor
from services.models import Area
from services.storage.rest_client import actor_json
from services.storage.sql_staff import check_area_ids


class RestStaffPart:
    def list_user_areas(self, user_id: int) -> list[Area]:
        rows = self.rest.rpc("meterline_user_areas", {"p_user_id": user_id}, what=f"reading the areas of user {user_id}",
                             idempotent=True)
        return [Area.from_row(x) for x in rows or []]

    def set_user_areas(self, user_id: int, area_ids, actor: Actor) -> list[Area]:
        ids = check_area_ids(area_ids)
        self.rest.rpc("meterline_set_user_areas", {"p_user_id": user_id, "p_area_ids": ids, "p_actor": actor_json(actor)},
                      what=f"assigning areas to user {user_id}")
        return self.list_user_areas(user_id)
