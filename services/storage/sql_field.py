"""SQL backend part: field operations (issue 15): visits, tickets, their comments and attachments.

Every read adds the scope predicate on the row's own area_id (services/storage/sql_scope.py), so a
scoped view pages, counts and groups only its areas in the database. Approving a ticket applies its
proposed change to the account and its primary contact in the same transaction as the status change.
The Supabase twin is rest_field.py with database/supabase/90_field.sql.
"""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s
from services.clock import utcnow
from services.errors import ConflictError, NotFoundError, ValidationError
from services.field.models import AgentVisits, Ticket, TicketNote, Visit
from services.models import Page
from services.storage.sql_common import read_tx, write_tx
from services.storage.sql_readings import area_subtree

fv, tk, tc, ta = s.field_visits, s.tickets, s.ticket_comments, s.ticket_attachments
a, ar, ac, co = s.accounts, s.areas, s.account_contacts, s.contacts
CONTACT_FIELDS = ("name", "phone", "email", "address")


def applied_change(account: dict, contact: dict | None, change: dict | None) -> tuple[dict, dict, dict]:
    """(account values to set, contact values to set, applied {field: {old, new}}) for a proposed change;
    fields already holding the new value are left out. Shared by the SQL backends; the Supabase
    function does the same in PL/pgSQL."""
    change = change or {}
    acc, con, applied = {}, {}, {}
    for f in ("category", "account_type"):
        if f in change and account[f] != change[f]:
            acc[f] = change[f]
            applied[f] = {"old": account[f], "new": change[f]}
    if "active" in change and bool(account["is_active"]) != bool(change["active"]):
        acc["is_active"] = bool(change["active"])
        applied["is_active"] = {"old": bool(account["is_active"]), "new": bool(change["active"])}
    wanted = {k: v for k, v in (change.get("contact") or {}).items() if k in CONTACT_FIELDS}
    if wanted:
        if contact is None:
            raise ValidationError("contact", "the unit has no primary contact to correct.",
                                  "Add the contact on the unit first, or reject the ticket.")
        for k, v in wanted.items():
            if contact[k] != v:
                con[k] = v
        if con:
            applied["contact"] = {k: {"old": contact[k], "new": v} for k, v in con.items()}
    return acc, con, applied


class FieldPart:
    # ---- visits -----------------------------------------------------------------------------------
    def _visit_select(self):
        return (sa.select(fv, a.c.code.label("account_code"), a.c.name.label("account_name"),
                          ar.c.path.label("area_path"), a.c.gps_lat.label("unit_lat"), a.c.gps_lon.label("unit_lon"))
                .select_from(fv.join(a, a.c.id == fv.c.account_id).join(ar, ar.c.id == fv.c.area_id))
                .where(*self._scope_conds(self._in_scope(fv.c.area_id))))

    def _visit_where(self, q, flt):
        if flt.status:
            q = q.where(fv.c.status == flt.status)
        if flt.area_id is not None:
            q = q.where(fv.c.area_id.in_(area_subtree(flt.area_id)))
        if flt.account_id is not None:
            q = q.where(fv.c.account_id == flt.account_id)
        if flt.agent_id is not None:
            q = q.where(fv.c.agent_id == flt.agent_id)
        if flt.date_from is not None:
            q = q.where(fv.c.visit_date >= flt.date_from)
        if flt.date_to is not None:
            q = q.where(fv.c.visit_date <= flt.date_to)
        if flt.flagged is not None:
            q = q.where(fv.c.flagged.is_(bool(flt.flagged)))
        return q

    def create_visit(self, new, actor) -> Visit:
        with write_tx(self.engine) as conn:
            area_id = conn.execute(sa.select(a.c.area_id).where(a.c.id == new.account_id)).scalar()
            if area_id is None:
                raise NotFoundError(f"Account {new.account_id} does not exist.")
            visit_id = conn.execute(fv.insert().returning(fv.c.id).values(
                account_id=new.account_id, area_id=area_id, agent_id=actor.user_id, agent_name=actor.username,
                visited_at=new.visited_at, visit_date=new.visit_date, outcome=new.outcome, notes=new.notes,
                photo_ref=new.photo_ref, photo_url=new.photo_url, gps_lat=new.gps_lat, gps_lon=new.gps_lon,
                gps_accuracy_m=new.gps_accuracy_m,
                distance_m=new.distance_m, radius_m=new.radius_m, flagged=bool(new.flagged), status="pending",
                created_at=utcnow())).scalar_one()
            self._audit(conn, actor, "visit.log", "field_visit", visit_id, {
                "account_id": new.account_id, "outcome": new.outcome, "distance_m": new.distance_m,
                "flagged": bool(new.flagged), "photo": bool(new.photo_ref)})
        return self.get_visit(visit_id)

    def get_visit(self, visit_id) -> Visit | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(self._visit_select().where(fv.c.id == visit_id)).mappings().first()
        return Visit.from_row(row) if row else None

    def list_visits(self, flt, offset=0, limit=50, with_total=True) -> Page[Visit]:
        order = (fv.c.visited_at.desc(), fv.c.id.desc()) if flt.newest_first else (fv.c.visited_at, fv.c.id)
        q = self._visit_where(self._visit_select(), flt).order_by(*order)
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.offset(offset).limit(limit)).mappings().all()
            total = None
            if with_total:
                cq = sa.select(sa.func.count()).select_from(fv).where(*self._scope_conds(self._in_scope(fv.c.area_id)))
                total = conn.execute(self._visit_where(cq, flt)).scalar_one()
        return Page([Visit.from_row(x) for x in rows], offset, limit, total)

    def _decide(self, conn, table, row_id, what: str, approve: bool, reason, actor, extra=None) -> None:
        values = dict(status="approved" if approve else "rejected", reviewed_by=actor.user_id,
                      reviewed_by_name=actor.username, reviewed_at=utcnow(), review_reason=reason, **(extra or {}))
        changed = conn.execute(table.update().where(table.c.id == row_id, table.c.status == "pending")
                               .values(**values)).rowcount
        if not changed:
            row = conn.execute(sa.select(table.c.status, table.c.reviewed_by_name).where(table.c.id == row_id)).first()
            if row is None:
                raise NotFoundError(f"{what} {row_id} does not exist.")
            raise ConflictError(f"{what} {row_id} was {row[0]} already by {row[1]}.")

    def review_visit(self, visit_id, *, approve, reason, actor) -> Visit:
        with write_tx(self.engine) as conn:
            self._decide(conn, fv, visit_id, "Visit", approve, reason, actor)
            self._audit(conn, actor, "visit.approve" if approve else "visit.reject", "field_visit", visit_id,
                        {"reason": reason})
        return self.get_visit(visit_id)

    def visits_per_agent(self, start, end) -> list[AgentVisits]:
        def n(status):
            return sa.func.sum(sa.case((fv.c.status == status, 1), else_=0))

        q = (sa.select(fv.c.agent_id, fv.c.agent_name, sa.func.count().label("visits"), n("approved").label("approved"),
                       n("rejected").label("rejected"), n("pending").label("pending"),
                       sa.func.sum(sa.case((fv.c.flagged.is_(True), 1), else_=0)).label("flagged"),
                       sa.func.count(sa.distinct(fv.c.account_id)).label("units"))
             .where(fv.c.visit_date.between(start, end), *self._scope_conds(self._in_scope(fv.c.area_id)))
             .group_by(fv.c.agent_id, fv.c.agent_name).order_by(sa.func.count().desc(), fv.c.agent_name))
        with read_tx(self.engine) as conn:
            return [AgentVisits(agent_id=r.agent_id, agent_name=r.agent_name, visits=int(r.visits),
                                approved=int(r.approved or 0), rejected=int(r.rejected or 0),
                                pending=int(r.pending or 0), flagged=int(r.flagged or 0), units=int(r.units))
                    for r in conn.execute(q)]

    # ---- tickets ----------------------------------------------------------------------------------
    def _ticket_select(self):
        comments = sa.select(sa.func.count()).where(tc.c.ticket_id == tk.c.id).scalar_subquery()
        files = sa.select(sa.func.count()).where(ta.c.ticket_id == tk.c.id).scalar_subquery()
        return (sa.select(tk, a.c.code.label("account_code"), a.c.name.label("account_name"),
                          ar.c.path.label("area_path"), comments.label("comments"), files.label("attachments"))
                .select_from(tk.join(a, a.c.id == tk.c.account_id).join(ar, ar.c.id == tk.c.area_id))
                .where(*self._scope_conds(self._in_scope(tk.c.area_id))))

    def _ticket_where(self, q, flt):
        if flt.status:
            q = q.where(tk.c.status == flt.status)
        if flt.area_id is not None:
            q = q.where(tk.c.area_id.in_(area_subtree(flt.area_id)))
        if flt.account_id is not None:
            q = q.where(tk.c.account_id == flt.account_id)
        if flt.kind:
            q = q.where(tk.c.kind == flt.kind)
        if flt.visit_id is not None:
            q = q.where(tk.c.visit_id == flt.visit_id)
        if flt.assignee_id is not None:
            q = q.where(tk.c.assignee_id == flt.assignee_id)
        if flt.raised_before is not None:
            q = q.where(tk.c.raised_at < flt.raised_before)
        return q

    def create_ticket(self, new, actor) -> Ticket:
        with write_tx(self.engine) as conn:
            area_id = conn.execute(sa.select(a.c.area_id).where(a.c.id == new.account_id)).scalar()
            if area_id is None:
                raise NotFoundError(f"Account {new.account_id} does not exist.")
            ticket_id = conn.execute(tk.insert().returning(tk.c.id).values(
                account_id=new.account_id, area_id=area_id, kind=new.kind, description=new.description,
                source=new.source, bill_id=new.bill_id, visit_id=new.visit_id, proposed_change=new.proposed_change,
                raised_by=actor.user_id, raised_by_name=actor.username, raised_at=new.raised_at,
                assignee_id=new.assignee_id, assignee_name=new.assignee_name, status="pending")).scalar_one()
            now = utcnow()
            for ref, url in new.attachments():
                conn.execute(ta.insert().values(ticket_id=ticket_id, photo_ref=ref, photo_url=url,
                                                added_by_name=actor.username, created_at=now))
            self._audit(conn, actor, "ticket.raise", "ticket", ticket_id, {
                "account_id": new.account_id, "kind": new.kind, "source": new.source, "visit_id": new.visit_id,
                "proposed_change": new.proposed_change, "photos": len(new.photo_refs)})
        return self.get_ticket(ticket_id)

    def get_ticket(self, ticket_id) -> Ticket | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(self._ticket_select().where(tk.c.id == ticket_id)).mappings().first()
        return Ticket.from_row(row) if row else None

    def list_tickets(self, flt, offset=0, limit=50, with_total=True) -> Page[Ticket]:
        order = (tk.c.raised_at, tk.c.id) if flt.oldest_first else (tk.c.raised_at.desc(), tk.c.id.desc())
        q = self._ticket_where(self._ticket_select(), flt).order_by(*order)
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.offset(offset).limit(limit)).mappings().all()
            total = None
            if with_total:
                cq = sa.select(sa.func.count()).select_from(tk).where(*self._scope_conds(self._in_scope(tk.c.area_id)))
                total = conn.execute(self._ticket_where(cq, flt)).scalar_one()
        return Page([Ticket.from_row(x) for x in rows], offset, limit, total)

    def ticket_counts(self, area_id=None) -> dict[str, int]:
        q = (sa.select(tk.c.status, sa.func.count()).where(*self._scope_conds(self._in_scope(tk.c.area_id)))
             .group_by(tk.c.status))
        if area_id is not None:
            q = q.where(tk.c.area_id.in_(area_subtree(area_id)))
        with read_tx(self.engine) as conn:
            got = dict(conn.execute(q).all())
        return {st: int(got.get(st, 0)) for st in ("pending", "approved", "rejected")}

    def review_ticket(self, ticket_id, *, approve, reason, actor) -> Ticket:
        with write_tx(self.engine) as conn:
            row = conn.execute(sa.select(tk.c.account_id, tk.c.proposed_change, tk.c.status)
                               .where(tk.c.id == ticket_id)).mappings().first()
            if row is None:
                raise NotFoundError(f"Ticket {ticket_id} does not exist.")
            applied = {}
            if approve and row["status"] == "pending" and row["proposed_change"]:
                applied = self._apply_ticket_change(conn, ticket_id, row["account_id"], row["proposed_change"], actor)
            self._decide(conn, tk, ticket_id, "Ticket", approve, reason, actor,
                         {"applied": applied or None} if approve else None)
            self._audit(conn, actor, "ticket.approve" if approve else "ticket.reject", "ticket", ticket_id,
                        {"reason": reason, "applied": applied or None})
        return self.get_ticket(ticket_id)

    def _apply_ticket_change(self, conn, ticket_id, account_id, change, actor) -> dict:
        account = conn.execute(sa.select(a).where(a.c.id == account_id).with_for_update()).mappings().first()
        contact = conn.execute(sa.select(co).select_from(co.join(ac, ac.c.contact_id == co.c.id))
                               .where(ac.c.account_id == account_id, ac.c.is_primary.is_(True))).mappings().first()
        acc, con, applied = applied_change(dict(account), dict(contact) if contact else None, change)
        if acc:
            conn.execute(a.update().where(a.c.id == account_id).values(**acc, updated_at=utcnow()))
        if con:
            conn.execute(co.update().where(co.c.id == contact["id"]).values(**con))
        if applied:
            self._audit(conn, actor, "ticket.apply", "account", account_id, {"ticket_id": ticket_id, **applied})
        return applied

    def add_ticket_comment(self, ticket_id, body, actor) -> TicketNote:
        with write_tx(self.engine) as conn:
            if conn.execute(sa.select(tk.c.id).where(tk.c.id == ticket_id)).first() is None:
                raise NotFoundError(f"Ticket {ticket_id} does not exist.")
            now = utcnow()
            note_id = conn.execute(tc.insert().returning(tc.c.id).values(
                ticket_id=ticket_id, author_id=actor.user_id, author_name=actor.username, body=body,
                created_at=now)).scalar_one()
            self._audit(conn, actor, "ticket.comment", "ticket", ticket_id, {"comment_id": note_id})
        return TicketNote(note_id, ticket_id, actor.username, now, body=body)

    def list_ticket_notes(self, ticket_id) -> list[TicketNote]:
        in_scope = self._scope_conds(self._in_scope(tk.c.area_id))
        visible = sa.select(tk.c.id).where(tk.c.id == ticket_id, *in_scope)
        comments = sa.select(tc.c.id, tc.c.ticket_id, tc.c.author_name, tc.c.created_at, tc.c.body,
                             sa.null().label("photo_ref"), sa.null().label("photo_url")
                             ).where(tc.c.ticket_id.in_(visible))
        files = sa.select(ta.c.id, ta.c.ticket_id, ta.c.added_by_name, ta.c.created_at, sa.null(),
                          ta.c.photo_ref, ta.c.photo_url).where(ta.c.ticket_id.in_(visible))
        with read_tx(self.engine) as conn:
            rows = conn.execute(sa.union_all(comments, files).order_by("created_at", "id").limit(500)).all()
        return [TicketNote(r[0], r[1], r[2], r[3], body=r[4], photo_ref=r[5], photo_url=r[6]) for r in rows]

    # ---- who looks after an area ------------------------------------------------------------------
    def area_staff(self, area_id, roles, limit=10) -> list[tuple[int, str]]:
        u, ua = s.users, s.user_areas
        leaf, assigned = ar.alias("leaf"), ar.alias("assigned")
        covers = sa.or_(leaf.c.path == assigned.c.path, leaf.c.path.startswith(assigned.c.path + "/"))
        q = (sa.select(u.c.id, u.c.username, sa.func.max(assigned.c.level).label("depth"))
             .select_from(u.join(ua, ua.c.user_id == u.c.id).join(assigned, assigned.c.id == ua.c.area_id))
             .join(leaf, leaf.c.id == area_id)
             .where(u.c.role.in_(list(roles)), u.c.is_active.is_(True), covers)
             .group_by(u.c.id, u.c.username).order_by(sa.desc("depth"), u.c.username).limit(limit))
        with read_tx(self.engine) as conn:
            return [(r.id, r.username) for r in conn.execute(q)]
