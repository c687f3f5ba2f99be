"""Meter photos: checked, cleaned and stored locally under data/meter_photos/.

A photo is accepted only when Pillow can decode it as an image and it is within the size limits:
PHOTO_MAX_BYTES (default 10 MB) for the file, PHOTO_MAX_PIXELS (default 24 megapixels; a phone's
normal photo is 12) for the picture. The pixel count is read from the file's header before any
pixel is decoded, so decoding costs at most about 4 bytes a pixel (~96 MB at the limit) however
small and well compressed the file is (a 7700x7700 PNG of ~200 KB took ~450 MB to decode);
a header claiming more is refused unread, and one past Pillow's own decompression-bomb limit is
named as such. Location (GPS) metadata is stripped from the stored copy
unless KEEP_PHOTO_LOCATION is set. Names are content hash + random suffix, so two uploads never
collide. The reading stores the returned reference (a path relative to the photo directory).
A remote copy (Cloudinary) is added by services/integrations when configured.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.errors import ValidationError

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".jpg", "MPO": ".jpg"}  # HEIF is stored as JPEG
DEFAULT_MAX_PIXELS = 24_000_000  # twice a 12-megapixel phone photo; decoded, ~96 MB at most
GPS_IFD_TAG = 0x8825


@dataclass(frozen=True)
class StoredPhoto:
    ref: str  # relative path under the photo directory, stored on the reading
    path: Path
    size_bytes: int
    format: str
    sha256: str
    # Perceptual hash and EXIF capture time (services/photo_checks.py), for the reused/stale photo checks.
    fingerprint: object = None


class PhotoStore:
    def __init__(self, directory: Path | str, *, max_bytes: int = 10 * 1024 * 1024, keep_location: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.keep_location = keep_location

    @property
    def accepted_extensions(self) -> tuple[str, ...]:
        """The file types the uploader offers: only what this Pillow can decode. HEIC (an iPhone's
        default) is decoded by pillow-heif; were it missing, HEIC would not be offered rather than
        accepted and then refused."""
        from PIL import Image

        register_heif()
        decodable = set(Image.registered_extensions().values())
        return tuple(ext for ext, fmt in (("jpg", "JPEG"), ("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"),
                                          ("heic", "HEIF")) if fmt in decodable)

    @property
    def max_upload_mb(self) -> int:
        """The uploader's own limit in whole MB (Streamlit's MB are 1024 x 1024 bytes, as PHOTO_MAX_BYTES's), so
        the browser says the real limit and refuses a bigger file before it is sent."""
        return max(1, -(-self.max_bytes // (1024 * 1024)))

    @property
    def limits_text(self) -> str:
        """'10 MB and 24 megapixels': the limits as the uploader's help says them."""
        return f"{human_size(self.max_bytes).replace('.0 ', ' ')} and {megapixels(self.max_pixels)} megapixels"

    def _too_many_pixels(self, filename: str, what: str) -> ValidationError:
        return ValidationError("photo", f"{filename} {what}; the limit is {megapixels(self.max_pixels)} megapixels.",
                               "Take the photo at the camera's normal resolution (or lower the camera resolution), "
                               "or send a smaller copy.")

    def validate(self, data: bytes, filename: str = "photo") -> tuple[str, bytes]:
        """Return (format, bytes to store) or raise ValidationError naming the photo field."""
        from PIL import Image, UnidentifiedImageError

        register_heif()
        if not data:
            raise ValidationError("photo", "the file is empty.", "Take or upload the photo again.")
        if len(data) > self.max_bytes:
            raise ValidationError("photo", f"{filename} is {human_size(len(data))}, over the {human_size(self.max_bytes)} "
                                  "limit.", "Upload a smaller photo or lower the camera resolution.")
        try:
            # open() reads the header only: the size is known before a single pixel is decoded.
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                if img.width * img.height > self.max_pixels:
                    raise self._too_many_pixels(filename, f"is {img.width}x{img.height} pixels "
                                                          f"({megapixels(img.width * img.height)} megapixels)")
                # Decode every pixel: verify() alone reads only the header of a JPEG, so a file cut off
                # in transfer would pass it.
                img.load()
        except ValidationError:
            raise
        except Image.DecompressionBombError:  # Pillow refused the header itself (over ~179 megapixels)
            raise self._too_many_pixels(filename, "is a decompression bomb: its header claims far more pixels "
                                                  "than any photo") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ValidationError("photo", f"{filename} is not an image.", "Upload a JPEG, PNG, WebP or HEIC photo of the meter.") from None
        if fmt not in ALLOWED_FORMATS:
            raise ValidationError("photo", f"{filename} is a {fmt or 'unknown'} file.", "Upload a JPEG, PNG, WebP or HEIC photo.")
        if fmt == "HEIF":  # browsers do not show HEIC: stored as a JPEG, which every reviewer's screen shows
            return "JPEG", heif_as_jpeg(data, keep_location=self.keep_location)
        return fmt, data if self.keep_location else strip_location(data, fmt)

    def save(self, data: bytes, filename: str = "photo", *, meter_number: str | None = None,
             today: dt.date | None = None) -> StoredPhoto:
        fmt, clean = self.validate(data, filename)
        digest = hashlib.sha256(clean).hexdigest()
        day = today or dt.date.today()
        safe_meter = "".join(ch for ch in (meter_number or "meter") if ch.isalnum())[:32] or "meter"
        for _ in range(5):  # a random suffix repeating is astronomically rare; try again rather than fail
            rel = Path(f"{day:%Y-%m}") / f"{safe_meter}_{day:%Y%m%d}_{digest[:12]}_{secrets.token_hex(4)}{ALLOWED_FORMATS[fmt]}"
            path = self.directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(path, "xb") as fh:  # "x": never overwrite an existing photo
                    fh.write(clean)
            except FileExistsError:
                continue
            return StoredPhoto(rel.as_posix(), path, len(clean), fmt, digest, _fingerprint(data))
        raise FileExistsError(f"could not find a free name for the photo under {self.directory}")

    def path_for(self, ref: str | None) -> Path | None:
        """The local file for a stored reference, if it exists and stays inside the photo directory."""
        if not ref:
            return None
        path = (self.directory / ref).resolve()
        if self.directory.resolve() not in path.parents or not path.is_file():
            return None
        return path


def _fingerprint(data: bytes):
    """The photo's perceptual hash and EXIF time, from the bytes as received (before the location is
    stripped, so the capture time is the camera's). A photo Pillow can store but not hash gets none."""
    from services.photo_checks import fingerprint

    try:
        return fingerprint(data)
    except Exception:  # noqa: BLE001: the reading and its photo are stored either way
        return None


def strip_location(data: bytes, fmt: str) -> bytes:
    """Remove GPS EXIF (and XMP that mentions GPS) from a JPEG/WebP/PNG; the rest of the EXIF
    (orientation, camera, time) and the colour profile stay. A photo without location is returned
    byte for byte; one with location is re-encoded (JPEG with its own quantisation tables, so
    the quality does not drop)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        xmp = img.info.get("xmp") or b""
        has_xmp_gps = b"gps" in (xmp.lower() if isinstance(xmp, bytes) else str(xmp).lower().encode())
        if GPS_IFD_TAG not in exif and not has_xmp_gps:
            return data
        out = io.BytesIO()
        # XMP is not passed on, so location written there goes too.
        params = _kept_metadata(img, keep_location=False)
        if fmt == "JPEG":
            img.save(out, format="JPEG", quality="keep", **params)
        elif fmt == "MPO":  # a multi-picture JPEG: the first (main) picture is kept
            img.save(out, format="JPEG", quality=95, **params)
        else:
            img.save(out, format=fmt, **params)
        return out.getvalue()


def _kept_metadata(img, *, keep_location: bool) -> dict:
    """Save parameters that keep a photo's EXIF (without its GPS part, unless kept on purpose) and
    its colour profile."""
    exif = img.getexif()
    if not keep_location:
        exif.pop(GPS_IFD_TAG, None)
    params = {"exif": exif.tobytes()}
    if img.info.get("icc_profile"):
        params["icc_profile"] = img.info["icc_profile"]
    return params


_HEIF_READY: bool | None = None  # pillow-heif registered with Pillow (False: not installed)


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF (an iPhone camera's default) through pillow-heif, once per process."""
    global _HEIF_READY
    if _HEIF_READY is None:
        try:
            from pillow_heif import register_heif_opener
        except ImportError:  # not installed: HEIC is then not offered (accepted_extensions)
            _HEIF_READY = False
            return
        register_heif_opener()
        _HEIF_READY = True


def heif_as_jpeg(data: bytes, *, keep_location: bool = False) -> bytes:
    """A HEIC photo re-encoded as a JPEG (quality 90): its pixels as decoded, its EXIF (orientation,
    camera, time) and colour profile kept, its location removed unless kept on purpose."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, format="JPEG", quality=90, **_kept_metadata(img, keep_location=keep_location))
        return out.getvalue()


def human_size(n: int) -> str:
    """1.5 MB / 2.6 KB / 900 bytes: readable at any limit (a 0.5 MB limit must not read "0 MB")."""
    if n >= 1_048_576:
        return f"{n / 1_048_576:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def megapixels(pixels: int) -> str:
    """24 / 59.3: megapixels as people say them."""
    value = pixels / 1_000_000
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
