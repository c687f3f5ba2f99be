"""GET /documents/bill.pdf?bill=&exp=&sig=: a bill's PDF through a signed link (services/documents/links.py).

Public (no bearer token: the owner who got the link in a WhatsApp or Discord message has none);
the signature names the bill and the expiry. 404 when links are not turned on, 403 for a bad or
expired link. The path has no template segment so the guard lists it as public."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from services.accounts.roles import Actor
from services.api.deps import services
from services.api.schemas import MAX_ID, ErrorOut
from services.container import Services
from services.errors import NotFoundError, PermissionDeniedError

router = APIRouter(tags=["documents"])
LINK_ACTOR = Actor(None, "bill-link", "system", "signed link")


@router.get("/documents/bill.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def bill_pdf_by_link(bill: int = Query(ge=1, le=MAX_ID), exp: int = Query(ge=0, le=2**40),
                     sig: str = Query(min_length=1, max_length=128), svc: Services = Depends(services)):
    """The bill's PDF, for a link sent in a message (signed, expiring; no sign-in)."""
    links = getattr(svc, "bill_links", None)
    if links is None:
        raise NotFoundError("Bill links are not turned on (PUBLIC_BASE_URL and BILL_LINK_SECRET).")
    problem = links.verify(bill, exp, sig)
    if problem:
        raise PermissionDeniedError(problem)
    from services.documents.service import BillDocuments

    pdf = BillDocuments(svc.db).bill_pdf(bill, LINK_ACTOR)
    return Response(pdf.data, media_type=pdf.mime, headers={
        "Content-Disposition": f'inline; filename="{pdf.filename}"', "Cache-Control": "private, no-store"})
