"""GET /api/bills/{id}, GET /api/bills/customer/{contact_id}, PUT /api/bills/{id}/status,
GET /api/bills/{id}/pdf, POST /api/bills/{id}/send."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response

from services.api.deps import principal, services
from services.api.schemas import MAX_ID, BillDetailOut, BillPageOut, BillSendIn, BillSendOut, BillStatus, BillStatusIn, ErrorOut
from services.api.serialize import bill_detail_out, bill_page_out
from services.accounts.api_auth import ApiPrincipal
from services.container import Services
from services.errors import NotFoundError
from services.models import BillFilter

router = APIRouter(prefix="/api/bills", tags=["bills"])
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
BillId = Path(ge=1, le=MAX_ID, description="bill id")


@router.get("/customer/{contact_id}", response_model=BillPageOut, responses=ERRORS)
def owner_bills(contact_id: int = Path(ge=1, le=MAX_ID, description="owner id (the customer)"),
                offset: int = Query(0, ge=0, le=1_000_000), limit: int = Query(50, ge=1, le=200),
                status: list[BillStatus] = Query(default=[], description="only these statuses (repeatable)"),
                who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Bills of the accounts a customer (owner) owns, newest period first, paginated in the database."""
    page = svc.db.list_bills(BillFilter(contact_id=contact_id, statuses=tuple(status)), offset, limit,
                             actor=who.actor)  # checks the permission first
    # An area-limited caller learns nothing of owners outside their areas: none of their bills is "no such owner".
    if not page.total and (not who.actor.scope.is_everything or not svc.db.storage.lookup_ids("contacts", "id",
                                                                                              [contact_id])):
        raise NotFoundError(f"Owner {contact_id} does not exist.")
    return bill_page_out(page)


@router.get("/{bill_id}", response_model=BillDetailOut, responses=ERRORS)
def get_bill(bill_id: int = BillId, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """One bill with every input of its arithmetic, its payments and the recomputation check."""
    return bill_detail_out(svc.db.bill_detail(bill_id, actor=who.actor))


@router.put("/{bill_id}/status", response_model=BillDetailOut, responses={**ERRORS, 409: {"model": ErrorOut}})
def change_status(body: BillStatusIn, bill_id: int = BillId, who: ApiPrincipal = Depends(principal),
                  svc: Services = Depends(services)):
    """Change a bill's status under the same rules as the admin screens: amounts never change;
    `paid` records a payment of the whole balance; a paid bill goes back to `pending` only with a
    reason; bills of locked months keep their status; every change is audited with its reason."""
    svc.db.change_bill_status(bill_id, body.status, body.reason, actor=who.actor, method=body.payment_method,
                              paid_on=body.paid_on)
    return bill_detail_out(svc.db.bill_detail(bill_id, actor=who.actor))


@router.get("/{bill_id}/pdf", responses={**ERRORS, 200: {"content": {"application/pdf": {}}}},
            response_class=Response)
def bill_pdf(bill_id: int = BillId, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """The bill as a PDF (the same document the bill page downloads and the email attaches)."""
    from services.documents.service import BillDocuments

    # read through the caller's scope: staff of other areas and customers of other accounts get 404
    pdf = BillDocuments(svc.db.for_actor(who.actor)).bill_pdf(bill_id, who.actor)
    return Response(pdf.data, media_type=pdf.mime,
                    headers={"Content-Disposition": f'attachment; filename="{pdf.filename}"'})


@router.post("/{bill_id}/send", response_model=BillSendOut, responses={**ERRORS, 409: {"model": ErrorOut}})
def send_bill(body: BillSendIn | None = None, bill_id: int = BillId, who: ApiPrincipal = Depends(principal),
              svc: Services = Depends(services)):
    """Email the bill with its PDF attached to its owner (or `to`). Every send is a row in the
    notifications log; a bill goes out once per channel: a repeat answers `already_sent` and sends
    nothing unless `resend` is true. A cancelled or superseded bill is a 409."""
    body = body or BillSendIn()
    svc.db.for_actor(who.actor).get_bill(bill_id)  # 404 for a bill outside the caller's scope, before sending
    out = svc.sender().send_bill(bill_id, body.channel, actor=who.actor, resend=body.resend, to=body.to)
    n = out.notification
    bill = svc.db.get_bill(bill_id)
    return BillSendOut(bill_id=bill_id, bill_number=bill.number, status="already_sent" if out.already_sent else n.status,
                       notification_id=n.id, recipient=n.recipient, attempts=n.attempts, error=n.error,
                       message=out.message)
