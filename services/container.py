"""Composition root: builds the services once from configuration.

The Streamlit app wraps `build_services` in st.cache_resource (ui/common.py); the API, the
scheduler and scripts call it directly. Each integration slot holds its offline default unless
its configuration is present.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.config import Settings, open_storage
from services.database_service import DatabaseService
from services.integrations.base import (
    BillingEvents, NoAdvisor, NoEvents, NoPaymentLinks, NoRemotePhotos, PaymentLinkProvider, ReadingAdvisor,
    RemotePhotoStore,
)
from services.photos import PhotoStore
from services.pricing_service import PricingService


@dataclass
class Services:
    settings: Settings
    db: DatabaseService
    photos: PhotoStore
    payment_links: PaymentLinkProvider = field(default_factory=NoPaymentLinks)
    remote_photos: RemotePhotoStore = field(default_factory=NoRemotePhotos)
    advisor: ReadingAdvisor = field(default_factory=NoAdvisor)
    events: BillingEvents = field(default_factory=NoEvents)
    auth: "AuthService | None" = None  # sign-in, sessions, user management (services/accounts/auth.py)
    bill_sender: "BillSender | None" = None  # a bill's PDF by email (services/documents/delivery.py)
    bill_links: "BillLinks | None" = None  # signed links to a bill's PDF in messages (services/documents/links.py)

    def sender(self) -> "BillSender":
        """The bill sender; an unconfigured one (every send a `skipped` row) until SMTP is wired."""
        if self.bill_sender is None:
            from services.documents.delivery import BillSender

            self.bill_sender = BillSender(self.db)
        return self.bill_sender


def build_services(settings: Settings | None = None) -> Services:
    settings = settings or Settings.from_env()
    storage = open_storage(settings)
    db = DatabaseService(storage, PricingService(settings.master_data_path))
    photos = PhotoStore(settings.photo_dir, max_bytes=settings.photo_max_bytes,
                        keep_location=settings.keep_photo_location, max_pixels=settings.photo_max_pixels)
    svc = Services(settings, db, photos)
    from services.accounts.auth import AuthService

    svc.auth = AuthService.from_settings(storage, settings)
    # Integrations: each wiring function replaces an offline default when configured.
    from services.integrations.wiring import wire_integrations  # notifications, Cloudinary, OpenAI

    wire_integrations(svc)
    from services.integrations.stripe_payments import wire_stripe  # payment links when STRIPE_API_KEY is set

    wire_stripe(svc)
    from services.documents.delivery import make_sender  # bills by email when SMTP_HOST and SMTP_SENDER are set
    from services.integrations.wiring import IntegrationConfig

    svc.bill_sender = make_sender(db, policy=IntegrationConfig.from_env().notify_policy)
    from services.documents.links import BillLinks  # when PUBLIC_BASE_URL and BILL_LINK_SECRET are set

    svc.bill_links = BillLinks.from_env()
    return svc
