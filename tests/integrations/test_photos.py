"""Meter photos: only real images within the size limit are stored, GPS stripped unless
configured, names never collide, references never escape the photo directory."""
import io
import os

import pytest
from PIL import Image

from services.config import Settings
from services.errors import ValidationError
from services.photos import GPS_IFD_TAG, PhotoStore

ORIENTATION = 0x0112


def jpeg(with_gps: bool = True, size=(64, 48), colour=(200, 30, 30), fmt="JPEG") -> bytes:
    img = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    if with_gps:
        gps = exif.get_ifd(GPS_IFD_TAG)
        gps.update({1: "N", 2: (12.0, 58.0, 10.0), 3: "E", 4: (77.0, 35.0, 0.0)})
    buf = io.BytesIO()
    img.save(buf, fmt, exif=exif.tobytes())
    return buf.getvalue()


def exif_of(path_or_bytes):
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(src) as im:
        ex = im.getexif()
        return dict(ex), dict(ex.get_ifd(GPS_IFD_TAG))


@pytest.fixture
def store(tmp_path):
    return PhotoStore(tmp_path / "photos")


def stored_files(store):
    return [p for p in store.directory.rglob("*") if p.is_file()] if store.directory.exists() else []


@pytest.mark.parametrize("data, why", [
    (b"hello, this is not a photo", "not an image"),
    (b"", "empty"),
    (jpeg()[:200], "not an image"),  # the header cut short
    (jpeg(size=(400, 300))[:-900], "not an image"),  # a whole header, the picture data cut off
])
def test_non_image_refused_with_field_named(store, data, why):
    with pytest.raises(ValidationError) as err:
        store.save(data, "meter.jpg")
    assert err.value.field == "photo" and why in err.value.message and err.value.fix
    assert stored_files(store) == []


def test_other_image_formats_refused(store):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "GIF")
    with pytest.raises(ValidationError) as err:
        store.save(buf.getvalue(), "meter.gif")
    assert err.value.field == "photo" and "GIF" in err.value.message


def test_oversized_photo_refused(tmp_path):
    data = jpeg(size=(400, 300))
    small = PhotoStore(tmp_path / "p", max_bytes=len(data) - 1)
    with pytest.raises(ValidationError) as err:
        small.save(data, "big.jpg")
    assert err.value.field == "photo" and "over the" in err.value.message and "limit" in err.value.message
    assert "2.6 KB" in err.value.message  # sizes readable at any scale, not "0 MB"
    assert not (tmp_path / "p").exists() or stored_files(small) == []
    assert PhotoStore(tmp_path / "q", max_bytes=len(data)).save(data, "ok.jpg").size_bytes > 0


def test_size_limit_configurable(monkeypatch):
    monkeypatch.delenv("PHOTO_MAX_BYTES", raising=False)
    assert Settings.from_env().photo_max_bytes == 10 * 1024 * 1024
    monkeypatch.setenv("PHOTO_MAX_BYTES", "2048")
    assert Settings.from_env().photo_max_bytes == 2048


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_gps_stripped_from_stored_copy(store, fmt):
    data = jpeg(fmt=fmt)
    assert exif_of(data)[1], "the test photo must carry GPS"
    saved = store.save(data, f"meter.{fmt.lower()}", meter_number="19152159")
    tags, gps = exif_of(saved.path)
    assert gps == {} and GPS_IFD_TAG not in tags
    assert tags.get(ORIENTATION) == 6  # the rest of the EXIF (orientation) is kept
    with Image.open(saved.path) as im:
        assert im.size == (64, 48)


def test_gps_kept_when_configured(tmp_path):
    data = jpeg()
    saved = PhotoStore(tmp_path, keep_location=True).save(data, "meter.jpg")
    assert saved.path.read_bytes() == data
    assert exif_of(saved.path)[1][1] == "N"


def test_photo_without_location_stored_byte_for_byte(store):
    data = jpeg(with_gps=False)
    assert store.save(data).path.read_bytes() == data


def test_xmp_location_removed(store):
    img = Image.new("RGB", (16, 16))
    buf = io.BytesIO()
    xmp = b'<x:xmpmeta><rdf:Description exif:GPSLatitude="12,58.1N"/></x:xmpmeta>'
    img.save(buf, "JPEG", xmp=xmp)
    assert b"GPSLatitude" in buf.getvalue()
    saved = store.save(buf.getvalue())
    assert b"GPSLatitude" not in saved.path.read_bytes()


def test_same_bytes_twice_never_collide(store, today):
    data = jpeg()
    a = store.save(data, meter_number="19152159", today=today)
    b = store.save(data, meter_number="19152159", today=today)
    assert a.ref != b.ref and a.path.is_file() and b.path.is_file()
    assert a.sha256 == b.sha256 and a.path.read_bytes() == b.path.read_bytes()
    assert len(stored_files(store)) == 2


def test_meter_number_cannot_steer_the_path(store):
    saved = store.save(jpeg(), meter_number="../../etc/passwd")
    assert saved.path.resolve().is_relative_to(store.directory.resolve())
    assert ".." not in saved.ref and "/" not in saved.ref.split("/", 1)[1]


def test_path_for_refuses_escapes(store, tmp_path):
    saved = store.save(jpeg())
    assert store.path_for(saved.ref) == saved.path.resolve()
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    for ref in ("../secret.txt", str(outside), "2026-11/../../secret.txt", "", None, "missing.jpg"):
        assert store.path_for(ref) is None, ref
    link = store.directory / "link.jpg"
    os.symlink(outside, link)
    assert store.path_for("link.jpg") is None  # a symlink pointing out is still outside
