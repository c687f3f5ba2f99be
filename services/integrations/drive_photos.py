"""A remote copy of each photo on Google Drive (optional; google-api-python-client, pinned), behind
the same interface as Cloudinary (services/integrations/base.py: RemotePhotoStore.upload), for
utilities that keep field photos in a shared Drive folder (seed 003's storage).

Configured by GOOGLE_DRIVE_SERVICE_ACCOUNT_FILE (a service account key JSON; share the folder with
the account's e-mail) and GOOGLE_DRIVE_FOLDER_ID (the folder the photos go into). The local copy is
always kept; Drive is a copy. GOOGLE_DRIVE_API_ROOT points the client at another host (tests run
it against a loopback server; no test reaches the internet). When both Cloudinary and Drive are
configured, Cloudinary is used.
"""
from __future__ import annotations

import logging
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from services.errors import ConfigurationError

log = logging.getLogger(__name__)
SCOPES = ("https://www.googleapis.com/auth/drive.file",)


@dataclass(frozen=True)
class DriveConfig:
    service_account_file: str
    folder_id: str | None = None
    api_root: str | None = None  # e.g. http://127.0.0.1:8765/ (a test server); default Google's

    @classmethod
    def from_env(cls, env=None) -> "DriveConfig | None":
        env = env if env is not None else os.environ
        key = env.get("GOOGLE_DRIVE_SERVICE_ACCOUNT_FILE") or ""
        if not key:
            return None
        if not Path(key).is_file():
            raise ConfigurationError(f"GOOGLE_DRIVE_SERVICE_ACCOUNT_FILE={key} is not a file: give the path of the "
                                     "service account's key (JSON).")
        return cls(key, env.get("GOOGLE_DRIVE_FOLDER_ID") or None, env.get("GOOGLE_DRIVE_API_ROOT") or None)


class DrivePhotos:
    name = "google_drive"

    def __init__(self, config: DriveConfig):
        self.config = config
        self._files = None

    def _service(self):
        if self._files is None:
            from google.oauth2 import service_account
            from googleapiclient.discovery import build

            creds = service_account.Credentials.from_service_account_file(self.config.service_account_file,
                                                                          scopes=list(SCOPES))
            if self.config.api_root:
                # Another host: the shipped Drive description with its root moved there (the client keeps
                # the https scheme of upload URLs when only api_endpoint is given).
                import json

                from googleapiclient.discovery import build_from_document
                from googleapiclient.discovery_cache import get_static_doc

                doc = json.loads(get_static_doc("drive", "v3"))
                root = self.config.api_root.rstrip("/") + "/"
                doc["rootUrl"], doc["baseUrl"] = root, root + doc["servicePath"]
                self._files = build_from_document(doc, credentials=creds).files()
            else:
                # static_discovery: the Drive API description shipped with the library, never fetched.
                self._files = build("drive", "v3", credentials=creds, static_discovery=True,
                                    cache_discovery=False).files()
        return self._files

    def upload(self, path: Path, public_id: str) -> str | None:
        """Upload the stored photo; its Drive link, or None when the upload failed (logged)."""
        from googleapiclient.errors import Error as GoogleApiError
        from googleapiclient.http import MediaFileUpload

        mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
        body = {"name": public_id.replace("/", "_")}
        if self.config.folder_id:
            body["parents"] = [self.config.folder_id]
        try:
            made = self._service().create(body=body, media_body=MediaFileUpload(str(path), mimetype=mime),
                                          fields="id,webViewLink", supportsAllDrives=True).execute(num_retries=2)
        except (GoogleApiError, OSError) as exc:
            log.error("Google Drive upload of %s failed: %s", public_id, exc)
            return None
        return made.get("webViewLink") or f"https://drive.google.com/file/d/{made['id']}/view"
