"""Meter photos: only real images within the size limit are stored, GPS stripped unless
configured, names never collide, references never escape the photo directory."""
import io
import os
from pathlib import Path

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


# ---- pixel limit and decompression bombs (generated images, nothing from the internet) ------------
def png(width: int, height: int, *, truncated: bool = False) -> bytes:
    """A valid grey PNG of any size, built row by row so a huge one costs little memory to make
    (a 7700x7700 one compresses to about 200 KB). `truncated`: the header and a token of data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * (width * 3)  # filter byte, then RGB
    rows = 1 if truncated else height
    data = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) claims another size."""
    data = bytearray(jpeg(with_gps=False, size=(16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_pixel_limit_is_documented_and_lower_than_what_hurt():
    from services.photos import DEFAULT_MAX_PIXELS

    assert DEFAULT_MAX_PIXELS == 24_000_000 < 7700 * 7700
    assert PhotoStore("x").max_pixels == DEFAULT_MAX_PIXELS


@pytest.mark.parametrize("data, size", [
    (png(7700, 7700), "7700x7700"),          # the report: ~450 MB to decode
    (png(6000, 4001), "6000x4001"),          # just over 24 megapixels
    (jpeg_claiming(9000, 9000), "9000x9000"),
], ids=["png-7700", "png-just-over", "jpeg-81mp"])
def test_too_many_pixels_refused_from_the_header_before_decoding(store, monkeypatch, data, size):
    from PIL import ImageFile

    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size))
    with pytest.raises(ValidationError) as err:
        store.save(data, "meter.png")
    assert err.value.field == "photo" and f"is {size} pixels" in err.value.message
    assert "24 megapixels" in err.value.message and "lower the camera resolution" in err.value.fix
    assert decoded == [] and stored_files(store) == []


@pytest.mark.parametrize("data", [png(30000, 30000, truncated=True), jpeg_claiming(60000, 60000)],
                         ids=["png-900mp", "jpeg-3600mp"])
def test_decompression_bombs_are_named_as_such(store, data):
    """Headers past Pillow's own bomb limit: a clear refusal, not 'not an image'."""
    with pytest.raises(ValidationError) as err:
        store.save(data, "bomb.png")
    assert err.value.field == "photo" and "decompression bomb" in err.value.message
    assert "24 megapixels" in err.value.message and stored_files(store) == []


def test_a_photo_under_the_limit_is_decoded_and_stored(store):
    saved = store.save(png(4000, 3000), "meter.png")  # a 12-megapixel phone photo
    assert saved.format == "PNG" and saved.path.exists()


def test_decoding_the_7700_png_stays_bounded_in_memory(tmp_path):
    """Measured in a fresh process: the peak resident memory hardly moves (it grew ~450 MB before)."""
    import subprocess
    import sys

    (tmp_path / "big.png").write_bytes(png(7700, 7700))
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from services.photos import PhotoStore\n"
        "from services.errors import ValidationError\n"
        "def hwm():\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "data = Path(sys.argv[1]).read_bytes()\n"
        "import PIL.Image, PIL.PngImagePlugin\n"
        "before = hwm()\n"
        "try:\n"
        "    PhotoStore(sys.argv[2]).validate(data, 'big.png')\n"
        "except ValidationError:\n"
        "    pass\n"
        "print(hwm() - before)\n")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "big.png"), str(tmp_path / "photos")],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], check=True)
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 32 * 1024, f"validating grew the peak memory by {grown_kib} KiB"


@pytest.mark.parametrize("keep_location", [False, True])
def test_an_iphone_heic_photo_is_decoded_and_stored_as_a_jpeg(tmp_path, keep_location):
    """HEIC (an iPhone camera's default) is offered and decoded (pillow-heif), and stored as a JPEG,
    which every reviewer's browser shows; its EXIF stays, its location goes unless kept on purpose."""
    from services.photos import register_heif

    register_heif()
    data = jpeg(fmt="HEIF", size=(80, 60))
    assert data[4:12] == b"ftypheic" and exif_of(data)[1], "the test photo must be a HEIC carrying GPS"
    store = PhotoStore(tmp_path / "photos", keep_location=keep_location)
    assert "heic" in store.accepted_extensions
    saved = store.save(data, "IMG_0001.HEIC", meter_number="19152159")
    assert saved.format == "JPEG" and saved.path.suffix == ".jpg" and saved.path.read_bytes()[:2] == b"\xff\xd8"
    tags, gps = exif_of(saved.path)
    assert (gps.get(1) == "N") == keep_location
    # The camera's "rotate 90" (orientation 6) is applied once by the decoder: an upright picture
    # saying "no rotation", never turned twice.
    with Image.open(saved.path) as im:
        assert im.format == "JPEG" and im.size == (60, 80) and tags.get(ORIENTATION, 1) == 1
    assert saved.fingerprint is not None  # the reused-photo check hashes it like any photo


def test_a_broken_heic_is_refused_naming_the_photo(store):
    from services.photos import register_heif

    register_heif()
    good = jpeg(fmt="HEIF", size=(80, 60))
    with pytest.raises(ValidationError) as err:
        store.save(good[: len(good) // 2], "IMG_0002.HEIC")
    assert err.value.field == "photo" and stored_files(store) == []
