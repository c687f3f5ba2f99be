"""A visit's photo and a ticket's attachment keep their remote copy's URL, as meter photos do
(issue 15): Cloudinary through the real SDK and Google Drive through the real client, both against
the loopback server; a refused visit uploads nothing, a failed upload keeps the visit and its local
photo without a URL."""
import pytest

from services.errors import ValidationError
from services.field import service as field
from services.field.models import TicketFilter
from services.integrations.cloudinary_photos import CloudinaryConfig, CloudinaryPhotos, remote_copy
from services.integrations.drive_photos import DriveConfig, DrivePhotos
from services.models import AccountFilter
from tests.integrations.fakeserver import Reply
from tests.integrations.test_cloudinary import SECRET, photo_bytes, uploaded
from tests.integrations.test_drive_photos import _answer, key_file  # noqa: F401 - the fixture

DRIVE_LINK = "https://drive.google.com/file/d/1AbC/view"


@pytest.fixture
def account_id(storage):
    return storage.list_accounts(AccountFilter(), 0, 1, with_total=False).items[0].id


def _cloudinary(server):
    return CloudinaryPhotos(CloudinaryConfig.from_url(f"cloudinary://123456789012345:{SECRET}@demo",
                                                      upload_prefix=server.url))


def _log(svc, account_id, actor, **kw):
    stored = svc.photos.save(photo_bytes(), "unit.jpg", meter_number="unit")
    visit = field.log_visit(svc.db, account_id, kw.pop("outcome", "promised"), photo_ref=stored.ref, actor=actor,
                            copy_photo=lambda ref: remote_copy(svc, ref), **kw)
    return stored, visit


def test_a_visit_keeps_its_cloudinary_url_and_a_ticket_from_it_carries_the_url(server, make_svc, admin,
                                                                                   account_id):
    server.default = uploaded
    svc = make_svc()
    svc.remote_photos = _cloudinary(server)
    stored, visit = _log(svc, account_id, admin)
    (req,) = server.requests
    assert req.path == "/v1_1/demo/image/upload" and req.form()["file"] == stored.path.read_bytes()
    url = f"https://res.cloudinary.com/demo/image/upload/v1/{req.form()['public_id']}.jpg"
    assert visit.photo_url == url and visit.photo_ref == stored.ref
    assert svc.db.storage.get_visit(visit.id).photo_url == url
    ticket = field.raise_ticket(svc.db, account_id, "meter_fault", "Meter glass broken", actor=admin,
                                visit_id=visit.id, photo_refs=(visit.photo_ref,), photo_urls=(visit.photo_url,))
    (note,) = svc.db.storage.list_ticket_notes(ticket.id)
    assert (note.photo_ref, note.photo_url) == (stored.ref, url)
    assert len(server.requests) == 1  # the ticket reuses the visit's copy


def test_a_visit_keeps_its_google_drive_link(server, make_svc, admin, account_id, key_file):  # noqa: F811
    server.default = _answer
    svc = make_svc()
    svc.remote_photos = DrivePhotos(DriveConfig(str(key_file), folder_id="folder-9", api_root=server.url))
    stored, visit = _log(svc, account_id, admin)
    assert visit.photo_url == DRIVE_LINK and svc.db.storage.get_visit(visit.id).photo_url == DRIVE_LINK
    assert [r.path for r in server.requests] == ["/token", "/upload/drive/v3/files"]


def test_a_refused_visit_uploads_nothing(server, make_svc, admin, account_id):
    server.default = uploaded
    svc = make_svc()
    svc.remote_photos = _cloudinary(server)
    with pytest.raises(ValidationError, match="outcome"):
        _log(svc, account_id, admin, outcome="vanished")
    with pytest.raises(ValidationError, match="gps_lat"):
        _log(svc, account_id, admin, position=(91, 74))
    assert server.requests == [] and svc.db.storage.list_visits(field.VisitFilter(), 0, 5).items == []


def test_a_failed_upload_keeps_the_visit_and_its_local_photo_without_a_url(server, make_svc, admin, account_id):
    server.default = Reply(500, {"error": {"message": "Internal error"}})
    svc = make_svc()
    svc.remote_photos = _cloudinary(server)
    stored, visit = _log(svc, account_id, admin)
    assert len(server.requests) == 1 and visit.photo_url is None and visit.photo_ref == stored.ref
    assert svc.photos.path_for(stored.ref).is_file()
    assert svc.db.storage.list_tickets(TicketFilter(), 0, 5).items == []


def test_without_a_remote_store_a_visit_has_no_url(make_svc, admin, account_id):
    svc = make_svc()
    stored, visit = _log(svc, account_id, admin)
    assert visit.photo_url is None and visit.photo_ref == stored.ref
