"""A remote copy of each meter photo on Cloudinary (the cloudinary SDK), when CLOUDINARY_URL is set.

The local copy under data/meter_photos/ is always kept and is the one the app shows when
Cloudinary is down or not configured; the remote URL is stored on the reading
(`readings.photo_url`). The copy uploaded is the stored one, so GPS is already stripped.

Signed uploads use the API key and secret from CLOUDINARY_URL
(cloudinary://KEY:SECRET@CLOUD_NAME); with CLOUDINARY_UPLOAD_PRESET set the upload is unsigned
with that preset instead. CLOUDINARY_UPLOAD_PREFIX (or `?upload_prefix=` on the URL) points the
SDK at another API host (tests use a loopback server). Options are passed on every call, so the
SDK's process-wide configuration is never changed.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from services.errors import ConfigurationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CloudinaryConfig:
    cloud_name: str
    api_key: str | None
    api_secret: str | None
    upload_prefix: str | None = None
    upload_preset: str | None = None
    folder: str = "meterline/meter_photos"
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str, *, upload_preset: str | None = None, upload_prefix: str | None = None,
                 folder: str | None = None, timeout: float = 30.0) -> "CloudinaryConfig":
        parts = urlsplit(url.strip())
        if parts.scheme != "cloudinary" or not parts.hostname:
            raise ConfigurationError("CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME.")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        key = unquote(parts.username) if parts.username else None
        secret = unquote(parts.password) if parts.password else None
        if not upload_preset and not (key and secret):
            raise ConfigurationError("CLOUDINARY_URL has no API key and secret; add them or set "
                                     "CLOUDINARY_UPLOAD_PRESET for unsigned uploads.")
        return cls(parts.hostname, key, secret, upload_prefix or query.get("upload_prefix"),
                   upload_preset or None, ("meterline/meter_photos" if folder is None else folder).strip("/"), timeout)


def public_id_for(ref: str) -> str:
    """A Cloudinary public id from a stored photo reference ("2026-11/1915_..._ab12.jpg" ->
    "2026-11/1915_..._ab12"): extension dropped, only letters, digits, _ and - in each folder part."""
    path = PurePosixPath(ref)
    stem = str(path.with_suffix("")) if path.suffix and path.name not in ("..", ".") else ref
    parts = [re.sub(r"[^A-Za-z0-9_-]", "_", p) for p in stem.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "photo"


class CloudinaryPhotos:
    name = "cloudinary"

    def __init__(self, config: CloudinaryConfig):
        self.config = config
        self.last_error: str | None = None

    def _options(self, public_id: str) -> dict:
        c = self.config
        opts = {"cloud_name": c.cloud_name, "public_id": f"{c.folder}/{public_id}" if c.folder else public_id,
                "resource_type": "image", "overwrite": False, "timeout": c.timeout}
        if c.upload_prefix:
            opts["upload_prefix"] = c.upload_prefix.rstrip("/")
        if not c.upload_preset:
            opts.update(api_key=c.api_key, api_secret=c.api_secret)
        return opts

    def upload(self, path: Path, public_id: str) -> str | None:
        """Upload a stored photo; its https URL, or None when the upload failed (logged; the
        local copy stays the reference and `last_error` says why)."""
        import cloudinary.uploader

        self.last_error = None
        opts = self._options(public_id_for(public_id))
        try:
            if self.config.upload_preset:
                result = cloudinary.uploader.unsigned_upload(str(path), self.config.upload_preset, **opts)
            else:
                result = cloudinary.uploader.upload(str(path), **opts)
        except Exception as exc:  # the SDK raises its own Error for HTTP and socket problems
            self.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
            if self.config.api_secret:
                self.last_error = self.last_error.replace(self.config.api_secret, "***")
            log.warning("Cloudinary upload of %s failed: %s", path.name, self.last_error)
            return None
        url = result.get("secure_url") or result.get("url")
        if not url:
            self.last_error = "Cloudinary answered without a URL."
        return url


def remote_copy(svc, photo_ref: str | None) -> str | None:
    """Upload a stored photo (a reading's, a visit's, a ticket's) to the configured remote store
    (Cloudinary, or Google Drive); its URL, or None when none is configured, the reference is not a
    stored photo, or the upload failed (logged: the local copy stays the reference)."""
    path = svc.photos.path_for(photo_ref)
    if path is None:
        return None
    try:
        return svc.remote_photos.upload(path, photo_ref) or None
    except Exception as exc:  # noqa: BLE001 - a remote store's own error must not lose the record
        log.warning("Remote copy of %s failed: %s", path.name, exc.__class__.__name__)
        return None


def store_photo_remotely(svc, reading_id: int, photo_ref: str, actor) -> str | None:
    """Upload a reading's stored photo and record the URL on the reading (`photo_url`).
    None (and nothing changed) when Cloudinary is not configured or the upload failed."""
    url = remote_copy(svc, photo_ref)
    if url:
        svc.db.storage.set_reading_photo_url(reading_id, url, actor)
    return url
