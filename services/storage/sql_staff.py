"""SQL backend part: the areas each staff member works in (table user_areas; services/accounts/scopes.py).

An area-limited user's scope is the subtrees of the areas assigned here. The head office replaces a
user's whole assignment at once (set_user_areas), in one transaction with its audit entry."""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s
from services.accounts.roles import Actor
from services.errors import NotFoundError, ValidationError
from services.models import Area
from services.storage.sql_common import read_tx, write_tx

ua, ar, u = s.user_areas, s.areas, s.users

MAX_USER_AREAS = 200  # a staff member works in a city/tehsil and a list of union councils, not thousands


def check_area_ids(area_ids) -> list[int]:
    """The ids as distinct ints in the order given (ValidationError for anything else)."""
    out: list[int] = []
    for x in area_ids:
        if isinstance(x, bool) or not isinstance(x, int) or x <= 0:
            raise ValidationError("areas", f"'{x}' is not an area id.", "Pick the areas from the list.")
        if x not in out:
            out.append(x)
    if len(out) > MAX_USER_AREAS:
        raise ValidationError("areas", f"{len(out)} areas is more than {MAX_USER_AREAS}.",
                              "Assign the city/tehsil instead of each of its union councils.")
    return out


class StaffPart:
    def list_user_areas(self, user_id: int) -> list[Area]:
        q = (sa.select(ar).select_from(ua.join(ar, ar.c.id == ua.c.area_id)).where(ua.c.user_id == user_id)
             .order_by(ar.c.sort_order, ar.c.path))
        with read_tx(self.engine) as conn:
            return [Area.from_row(x) for x in conn.execute(q).mappings()]

    def set_user_areas(self, user_id: int, area_ids, actor: Actor) -> list[Area]:
        ids = check_area_ids(area_ids)
        with write_tx(self.engine) as conn:
            if conn.execute(sa.select(u.c.id).where(u.c.id == user_id)).first() is None:
                raise NotFoundError(f"User {user_id} does not exist.")
            paths = dict(conn.execute(sa.select(ar.c.id, ar.c.path).where(ar.c.id.in_(ids))).all()) if ids else {}
            missing = [i for i in ids if i not in paths]
            if missing:
                raise ValidationError("areas", f"Area {missing[0]} does not exist.", "Pick the areas from the list.")
            before = [p for (p,) in conn.execute(sa.select(ar.c.path).select_from(ua.join(ar, ar.c.id == ua.c.area_id))
                                                 .where(ua.c.user_id == user_id).order_by(ar.c.path))]
            conn.execute(ua.delete().where(ua.c.user_id == user_id))
            if ids:
                conn.execute(ua.insert(), [{"user_id": user_id, "area_id": i, "assigned_by_name": actor.username[:64]}
                                           for i in ids])
            self._audit(conn, actor, "user.areas", "user", user_id,
                        {"before": before, "after": sorted(paths[i] for i in ids)})
        return self.list_user_areas(user_id)
