"""REST backend part: field operations (issue 15) on Supabase. Each write is one /rpc function of
database/supabase/90_field.sql (one transaction with its audit rows; approving a ticket applies its
change there); reads select from the views visit_details, ticket_details and ticket_notes, which
row level security filters for a scoped view. The SQL twin is sql_field.py."""
from __future__ import annotations

import dataclasses

from services.field.models import AgentVisits, Ticket, TicketNote, Visit
from services.models import Page
from services.storage.rest_client import KINDS, actor_json, parse_ts, to_json

_P = "plain"
KINDS["visit_details"] = {**KINDS["field_visits"], **dict.fromkeys(("account_code", "account_name", "area_path"), _P),
                          "unit_lat": "dec", "unit_lon": "dec"}
KINDS["ticket_details"] = {**KINDS["tickets"], **dict.fromkeys(
    ("account_code", "account_name", "area_path", "comments", "attachments"), _P)}
KINDS["ticket_notes"] = {"id": _P, "ticket_id": _P, "author_name": _P, "created_at": "ts", "body": _P, "photo_ref": _P,
                         "photo_url": _P}


class RestFieldPart:
    # ---- visits -----------------------------------------------------------------------------------
    def create_visit(self, new, actor) -> Visit:
        row = {k: v for k, v in dataclasses.asdict(new).items() if v is not None}
        visit_id = self.rest.rpc("meterline_create_visit", {"p_row": to_json(row), "p_actor": actor_json(actor)},
                                 what="logging a visit")
        return self.get_visit(int(visit_id))

    def get_visit(self, visit_id) -> Visit | None:
        rows, _ = self.rest.select("visit_details", filters=[("eq", "id", visit_id)], limit=1, what="reading a visit")
        return Visit.from_row(rows[0]) if rows else None

    def _visit_filters(self, flt) -> list | None:
        f = []
        if flt.status:
            f.append(("eq", "status", flt.status))
        if flt.area_id is not None:
            area = self._area_filter(flt.area_id)
            if area is None:
                return None
            f.append(area)
        for col, value in (("account_id", flt.account_id), ("agent_id", flt.agent_id)):
            if value is not None:
                f.append(("eq", col, value))
        if flt.date_from is not None:
            f.append(("gte", "visit_date", flt.date_from))
        if flt.date_to is not None:
            f.append(("lte", "visit_date", flt.date_to))
        if flt.flagged is not None:
            f.append(("is", "flagged", bool(flt.flagged)))
        return f

    def list_visits(self, flt, offset=0, limit=50, with_total=True) -> Page[Visit]:
        f = self._visit_filters(flt)
        if f is None:
            return Page([], offset, limit, 0 if with_total else None)
        desc = bool(flt.newest_first)
        rows, total = self.rest.select("visit_details", filters=f, order=(("visited_at", desc), ("id", desc)),
                                       offset=offset, limit=limit, count="exact" if with_total else None,
                                       what="reading visits")
        return Page([Visit.from_row(x) for x in rows], offset, limit, total)

    def review_visit(self, visit_id, *, approve, reason, actor) -> Visit:
        self.rest.rpc("meterline_review_visit", {"p_id": visit_id, "p_approve": bool(approve), "p_reason": reason,
                                                 "p_actor": actor_json(actor)}, what="deciding a visit")
        return self.get_visit(visit_id)

    def visits_per_agent(self, start, end) -> list[AgentVisits]:
        rows = self.rest.rpc("meterline_visits_per_agent", {"p_start": start, "p_end": end},
                             what="counting visits per agent", idempotent=True) or []
        return [AgentVisits(agent_id=r["agent_id"], agent_name=r["agent_name"], visits=int(r["visits"]),
                            approved=int(r["approved"]), rejected=int(r["rejected"]), pending=int(r["pending"]),
                            flagged=int(r["flagged"]), units=int(r["units"])) for r in rows]

    # ---- tickets ----------------------------------------------------------------------------------
    def create_ticket(self, new, actor) -> Ticket:
        row = {k: v for k, v in dataclasses.asdict(new).items()
               if v is not None and k not in ("photo_refs", "photo_urls")}
        photos = [{"photo_ref": ref, "photo_url": url} for ref, url in new.attachments()]
        ticket_id = self.rest.rpc("meterline_create_ticket", {
            "p_row": to_json(row), "p_photos": photos, "p_actor": actor_json(actor)},
            what="raising a ticket")
        return self.get_ticket(int(ticket_id))

    def get_ticket(self, ticket_id) -> Ticket | None:
        rows, _ = self.rest.select("ticket_details", filters=[("eq", "id", ticket_id)], limit=1,
                                   what="reading a ticket")
        return Ticket.from_row(rows[0]) if rows else None

    def _ticket_filters(self, flt) -> list | None:
        f = []
        if flt.status:
            f.append(("eq", "status", flt.status))
        if flt.area_id is not None:
            area = self._area_filter(flt.area_id)
            if area is None:
                return None
            f.append(area)
        for col, value in (("account_id", flt.account_id), ("kind", flt.kind or None), ("visit_id", flt.visit_id),
                           ("assignee_id", flt.assignee_id)):
            if value is not None:
                f.append(("eq", col, value))
        if flt.raised_before is not None:
            f.append(("lt", "raised_at", flt.raised_before))
        return f

    def list_tickets(self, flt, offset=0, limit=50, with_total=True) -> Page[Ticket]:
        f = self._ticket_filters(flt)
        if f is None:
            return Page([], offset, limit, 0 if with_total else None)
        desc = not flt.oldest_first
        rows, total = self.rest.select("ticket_details", filters=f, order=(("raised_at", desc), ("id", desc)),
                                       offset=offset, limit=limit, count="exact" if with_total else None,
                                       what="reading tickets")
        return Page([Ticket.from_row(x) for x in rows], offset, limit, total)

    def ticket_counts(self, area_id=None) -> dict[str, int]:
        path = None
        if area_id is not None:
            area = self.get_area(area_id=area_id)
            if area is None:
                return {st: 0 for st in ("pending", "approved", "rejected")}
            path = area.path
        rows = self.rest.rpc("meterline_ticket_counts", {"p_area_path": path}, what="counting tickets",
                             idempotent=True) or []
        got = {k: int(v) for k, v in (rows or {}).items()}
        return {st: got.get(st, 0) for st in ("pending", "approved", "rejected")}

    def review_ticket(self, ticket_id, *, approve, reason, actor) -> Ticket:
        self.rest.rpc("meterline_review_ticket", {"p_id": ticket_id, "p_approve": bool(approve), "p_reason": reason,
                                                  "p_actor": actor_json(actor)}, what="deciding a ticket")
        return self.get_ticket(ticket_id)

    def add_ticket_comment(self, ticket_id, body, actor) -> TicketNote:
        out = self.rest.rpc("meterline_add_ticket_comment", {"p_id": ticket_id, "p_body": body,
                                                             "p_actor": actor_json(actor)}, what="adding a comment")
        return TicketNote(int(out["id"]), ticket_id, actor.username, parse_ts(out["created_at"]), body=body)

    def list_ticket_notes(self, ticket_id) -> list[TicketNote]:
        rows, _ = self.rest.select("ticket_notes", filters=[("eq", "ticket_id", ticket_id)],
                                   order=(("created_at", False), ("id", False)), limit=500, what="reading ticket notes")
        return [TicketNote.from_row(r) for r in rows]

    # ---- who looks after an area ------------------------------------------------------------------
    def area_staff(self, area_id, roles, limit=10) -> list[tuple[int, str]]:
        rows = self.rest.rpc("meterline_area_staff", {"p_area_id": area_id, "p_roles": list(roles), "p_limit": limit},
                             what="finding the staff of an area", idempotent=True) or []
        return [(int(r["id"]), r["username"]) for r in rows]
