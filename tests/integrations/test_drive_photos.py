"""Google Drive as the optional third photo store, through the real google-api-python-client against
a loopback server playing Google's token endpoint and the Drive upload API (no internet): the
service account's signed JWT is exchanged for a token, the photo and its metadata (name, folder)
arrive in one multipart upload with that token, the Drive link comes back; a refusal keeps the
local copy and answers None; the wiring picks Drive when it is configured and Cloudinary is not."""
import io
import json

import pytest
from PIL import Image

from services.errors import ConfigurationError
from services.integrations.drive_photos import DriveConfig, DrivePhotos
from tests.integrations.fakeserver import Reply


@pytest.fixture
def key_file(tmp_path, server):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "drive-key.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "meterline-test", "private_key_id": "k1", "private_key": pem,
        "client_email": "photos@meterline-test.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": f"{server.url}/token"}))
    return path


def _photo(tmp_path):
    path = tmp_path / "2026-11" / "SPKSR0000001_20261122_ab.jpg"
    path.parent.mkdir(parents=True)
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def _answer(rec):
    if rec.path == "/token":
        return Reply(200, {"access_token": "ya29.loopback", "expires_in": 3600, "token_type": "Bearer"})
    return Reply(200, {"id": "1AbC", "webViewLink": "https://drive.google.com/file/d/1AbC/view"})


def test_upload_through_the_real_client(tmp_path, server, key_file):
    server.default = _answer
    drive = DrivePhotos(DriveConfig(str(key_file), folder_id="folder-9", api_root=server.url))
    photo = _photo(tmp_path)
    assert drive.upload(photo, "2026-11/SPKSR0000001_20261122_ab.jpg") == "https://drive.google.com/file/d/1AbC/view"
    token, upload = server.requests
    assert token.path == "/token" and b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in token.body
    assert upload.method == "POST" and upload.path == "/upload/drive/v3/files"
    assert upload.query["uploadType"] == "multipart" and upload.query["supportsAllDrives"] == "true"
    assert upload.headers["authorization"] == "Bearer ya29.loopback"
    assert b'"parents": ["folder-9"]' in upload.body and b'"name": "2026-11_SPKSR0000001_20261122_ab.jpg"' in upload.body
    assert photo.read_bytes() in upload.body  # the photo itself, byte for byte


def test_a_refused_upload_answers_none_and_keeps_the_local_copy(tmp_path, server, key_file):
    server.default = lambda rec: (_answer(rec) if rec.path == "/token"
                                  else Reply(403, {"error": {"code": 403, "message": "insufficient permissions"}}))
    photo = _photo(tmp_path)
    assert DrivePhotos(DriveConfig(str(key_file), api_root=server.url)).upload(photo, "x.jpg") is None
    assert photo.is_file()


def test_configuration_from_the_environment(tmp_path, key_file):
    assert DriveConfig.from_env({}) is None
    got = DriveConfig.from_env({"GOOGLE_DRIVE_SERVICE_ACCOUNT_FILE": str(key_file), "GOOGLE_DRIVE_FOLDER_ID": "f"})
    assert got == DriveConfig(str(key_file), "f", None)
    with pytest.raises(ConfigurationError):
        DriveConfig.from_env({"GOOGLE_DRIVE_SERVICE_ACCOUNT_FILE": str(tmp_path / "missing.json")})


def test_the_wiring_uses_drive_when_configured_and_cloudinary_is_not(make_svc, key_file, monkeypatch):
    assert make_svc().remote_photos.name == "none"
    monkeypatch.setenv("GOOGLE_DRIVE_SERVICE_ACCOUNT_FILE", str(key_file))
    assert make_svc().remote_photos.name == "google_drive"
    assert make_svc(cloudinary_url="cloudinary://k:s@demo").remote_photos.name == "cloudinary"
