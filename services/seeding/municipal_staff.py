"""The municipal demo's staff (seed 003 `staff`): the roster of services/demo/municipal.py as users
with their roles and assigned areas (table user_areas), so each one sees only their union councils
(services/accounts/scopes.py).

Roster users get no password (they cannot sign in until the head office resets one on the Users
page: no shared demo passwords for 50 people). Two demo sign-ins with known passwords stand in for
them: `head` (HEAD, everything) and `agent` (AGENT of the first agent's union councils), listed by
scripts/seed_demo.py with the other demo accounts."""
from __future__ import annotations

from services.demo import municipal as m
from services.seeding.common import SEEDER, Say

ROLE_OF = {"AGENT": "agent", "SUPERVISOR": "supervisor", "MANAGER": "manager", "HEAD": "head"}


def _area_ids(storage, paths) -> list[int]:
    out = []
    for path in paths:
        area = storage.get_area(path=path)
        if area is None:
            raise ValueError(f"the demo staff's area {path!r} is not in the database")
        out.append(area.id)
    return out


def seed_staff(storage, say: Say, n: int = m.DEFAULT_STAFF) -> list[m.DemoStaff]:
    """Create the roster's users (skipping usernames that exist) and assign their areas."""
    roster = m.staff_roster(n)
    made = 0
    for person in roster:
        if storage.get_user(username=person.username) is not None:
            continue
        user = storage.create_user(username=person.username, role=ROLE_OF[person.role], password_hash=None,
                                   actor=SEEDER, display_name=person.full_name)
        if not person.is_active:
            storage.update_user(user.id, {"is_active": False}, SEEDER, "user.deactivate")
        paths = [p for p in person.scope_paths if p]
        if paths:
            storage.set_user_areas(user.id, _area_ids(storage, paths), SEEDER)
        made += 1
    say(f"  staff: {made} user(s) with their areas ({', '.join(f'{sum(p.role == r for p in roster)} {r}' for r in ROLE_OF)})")
    return roster


def demo_agent_paths(roster: list[m.DemoStaff]) -> tuple[str, ...]:
    """The areas of the demo sign-in `agent`: those of the roster's first active agent."""
    first = next(p for p in roster if p.role == "AGENT" and p.is_active)
    return first.scope_paths


def assign_demo_signins(storage, roster: list[m.DemoStaff]) -> None:
    """Give the demo sign-in `agent` (made by scripts/seed_demo.py) the first agent's union councils."""
    agent = storage.get_user(username="agent")
    if agent is not None and not storage.list_user_areas(agent.id):
        storage.set_user_areas(agent.id, _area_ids(storage, demo_agent_paths(roster)), SEEDER)
