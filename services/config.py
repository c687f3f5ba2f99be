"""Configuration from the environment (and a `.env` file, never committed).

Backend selection: SUPABASE_URL + SUPABASE_KEY -> Supabase REST; else DATABASE_URL ->
SQLAlchemy (sqlite:/// or postgresql://); else the embedded default, a SQLite file
data/meterline.db (WAL mode, foreign keys on). Every variable is listed in .env.example.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.photos import DEFAULT_MAX_PIXELS

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEFAULT_SQLITE_PATH = DATA_DIR / "meterline.db"


def load_dotenv_once() -> None:
    """Load .env from the project root without overriding variables already set.
    METERLINE_DOTENV=0 turns this off (the test suite does, so a developer's .env never leaks in)."""
    if os.environ.get("METERLINE_DOTENV") == "0":
        return
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is in requirements
        return
    load_dotenv(ROOT / ".env", override=False)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    supabase_url: str | None
    supabase_key: str | None
    master_data_path: str | None
    photo_dir: Path
    photo_max_bytes: int
    keep_photo_location: bool
    photo_max_pixels: int
    session_idle_minutes: int
    session_absolute_hours: int
    timezone: str

    @property
    def backend(self) -> str:
        if self.supabase_url and self.supabase_key:
            return "supabase"
        if self.database_url:
            return "postgresql" if self.database_url.startswith("postgres") else "sqlite"
        return "sqlite"

    @property
    def sql_url(self) -> str:
        """The SQLAlchemy URL in use (the embedded SQLite file when nothing is configured)."""
        return self.database_url or f"sqlite:///{DEFAULT_SQLITE_PATH}"

    @property
    def is_embedded_default(self) -> bool:
        return self.backend == "sqlite" and not self.database_url

    @classmethod
    def from_env(cls) -> "Settings":
        load_dotenv_once()
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            supabase_url=env.get("SUPABASE_URL") or None,
            supabase_key=env.get("SUPABASE_KEY") or None,
            master_data_path=env.get("MASTER_DATA_PATH") or None,
            photo_dir=Path(env.get("PHOTO_DIR") or DATA_DIR / "meter_photos"),
            photo_max_bytes=_int("PHOTO_MAX_BYTES", 10 * 1024 * 1024),
            keep_photo_location=env.get("KEEP_PHOTO_LOCATION", "false").lower() in ("1", "true", "yes"),
            photo_max_pixels=_int("PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS),
            session_idle_minutes=_int("SESSION_IDLE_MINUTES", 30),
            session_absolute_hours=_int("SESSION_ABSOLUTE_HOURS", 12),
            timezone=env.get("METERLINE_TIMEZONE", "Asia/Kolkata"),
        )


def open_storage(settings: Settings):
    """The storage backend configuration selects."""
    if settings.backend == "supabase":
        from services.storage.rest_backend import SupabaseStorage  # built by the Supabase REST issue

        return SupabaseStorage(settings.supabase_url, settings.supabase_key)
    from services.storage.sql_backend import SqlStorage

    return SqlStorage(settings.sql_url)
