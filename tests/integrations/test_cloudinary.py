"""Cloudinary through the real SDK against a loopback upload API: request shape, signature,
unsigned preset, failure keeps the local copy."""
import datetime as dt
import hashlib
import io

import pytest
from PIL import Image

from services.errors import ConfigurationError
from services.integrations.cloudinary_photos import (
    CloudinaryConfig, CloudinaryPhotos, public_id_for, store_photo_remotely,
)
from services.photos import GPS_IFD_TAG
from tests.factories import engineer_user
from tests.integrations.fakeserver import Reply

SECRET = "abcd-cloudinary-secret"


def photo_bytes() -> bytes:
    img = Image.new("RGB", (32, 24), (10, 120, 200))
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD_TAG).update({1: "N", 2: (12.0, 58.0, 10.0)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def uploaded(rec) -> Reply:
    form = rec.form()
    return Reply(200, {"public_id": form["public_id"], "version": 1, "format": "jpg", "resource_type": "image",
                       "secure_url": f"https://res.cloudinary.com/demo/image/upload/v1/{form['public_id']}.jpg"})


def expected_signature(fields: dict) -> str:
    # Cloudinary's scheme: sorted key=value pairs of the signed params joined by &, then the secret, SHA-1.
    signed = {k: v for k, v in fields.items() if k not in ("file", "api_key", "signature", "resource_type", "cloud_name")}
    return hashlib.sha1(("&".join(f"{k}={signed[k]}" for k in sorted(signed)) + SECRET).encode()).hexdigest()


def test_signed_upload_request_shape(server, make_svc):
    server.default = uploaded
    svc = make_svc()
    stored = svc.photos.save(photo_bytes(), "meter.jpg", meter_number="19152159", today=dt.date(2026, 11, 20))
    svc.remote_photos = CloudinaryPhotos(CloudinaryConfig.from_url(
        f"cloudinary://123456789012345:{SECRET}@demo", upload_prefix=server.url))
    out = svc.db.insert_meter_reading(meter_number="19152159", reading_value="1000", reading_date="2026-11-20",
                                      photo_ref=stored.ref, actor=engineer_user(svc.db.storage))
    url = store_photo_remotely(svc, out.reading.id, stored.ref, engineer_user(svc.db.storage))
    (req,) = server.requests
    assert req.method == "POST" and req.path == "/v1_1/demo/image/upload"
    assert req.headers["content-type"].startswith("multipart/form-data")
    form = req.form()
    assert form["api_key"] == "123456789012345" and SECRET not in req.body.decode("latin-1")
    assert form["public_id"] == f"meterline/meter_photos/{stored.ref.rsplit('.', 1)[0]}"
    assert form["overwrite"] in ("false", "0") and form["timestamp"].isdigit()
    assert form["signature"] == expected_signature(form)
    assert form["file"] == stored.path.read_bytes()  # the stored copy, GPS already stripped
    with Image.open(io.BytesIO(form["file"])) as im:
        assert dict(im.getexif().get_ifd(GPS_IFD_TAG)) == {}
    assert url == f"https://res.cloudinary.com/demo/image/upload/v1/{form['public_id']}.jpg"
    reading = svc.db.get_reading(out.reading.id)
    assert reading.photo_url == url and reading.photo_ref == stored.ref  # local reference kept


def test_unsigned_preset_upload(server, tmp_path):
    server.default = uploaded
    path = tmp_path / "p.jpg"
    path.write_bytes(photo_bytes())
    remote = CloudinaryPhotos(CloudinaryConfig.from_url("cloudinary://demo", upload_preset="meter_unsigned",
                                                        upload_prefix=server.url + "/", folder=""))
    assert remote.upload(path, "2026-11/abc.jpg").endswith("/2026-11/abc.jpg")
    form = server.requests[0].form()
    assert form["upload_preset"] == "meter_unsigned" and "signature" not in form and "api_key" not in form
    assert form["public_id"] == "2026-11/abc"


def test_upload_failure_returns_none_and_keeps_local(server, make_svc):
    server.default = Reply(500, {"error": {"message": "Internal error"}})
    svc = make_svc()
    stored = svc.photos.save(photo_bytes(), "meter.jpg")
    remote = CloudinaryPhotos(CloudinaryConfig.from_url(f"cloudinary://k:{SECRET}@demo", upload_prefix=server.url))
    svc.remote_photos = remote
    assert store_photo_remotely(svc, 1, stored.ref, engineer_user(svc.db.storage)) is None
    assert "Internal error" in remote.last_error and SECRET not in remote.last_error
    assert svc.photos.path_for(stored.ref).is_file()


def test_not_configured_uploads_nothing(make_svc):
    svc = make_svc()
    stored = svc.photos.save(photo_bytes())
    assert store_photo_remotely(svc, 1, stored.ref, engineer_user(svc.db.storage)) is None
    assert store_photo_remotely(svc, 1, "../escape.jpg", engineer_user(svc.db.storage)) is None


@pytest.mark.parametrize("url", ["https://demo.cloudinary.com", "cloudinary://", "cloudinary://onlycloud"])
def test_bad_configuration_refused(url):
    with pytest.raises(ConfigurationError):
        CloudinaryConfig.from_url(url)


def test_public_id_from_reference():
    assert public_id_for("2026-11/19152159_20261120_ab12_cd34.jpg") == "2026-11/19152159_20261120_ab12_cd34"
    assert public_id_for("../x y.jpg") == "x_y"
    assert public_id_for("../../etc/passwd") == "etc/passwd" and public_id_for("..") == "photo"


def test_upload_prefix_on_the_url():
    c = CloudinaryConfig.from_url("cloudinary://k:s%2Fx@demo?upload_prefix=http://127.0.0.1:9")
    assert (c.cloud_name, c.api_key, c.api_secret, c.upload_prefix) == ("demo", "k", "s/x", "http://127.0.0.1:9")
