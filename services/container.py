"""Composition root: builds the services once from configuration.

The Streamlit app wraps `build_services` in st.cache_resource; the API, the scheduler and
scripts call it directly.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.config import Settings, open_storage
from services.database_service import DatabaseService
from services.photos import PhotoStore
from services.pricing_service import PricingService


@dataclass
class Services:
    settings: Settings
    db: DatabaseService
    photos: PhotoStore


def build_services(settings: Settings | None = None) -> Services:
    settings = settings or Settings.from_env()
    storage = open_storage(settings)
    db = DatabaseService(storage, PricingService(settings.master_data_path))
    photos = PhotoStore(settings.photo_dir, max_bytes=settings.photo_max_bytes,
                        keep_location=settings.keep_photo_location)
    return Services(settings, db, photos)
