"""Wire notifications, Cloudinary photos and OpenAI into the Services from the environment.

Called by services/container.build_services. Each integration replaces its offline default
only when its configuration is present; the billing events are always the real ones, because
writing `skipped` rows with the reason *is* the offline behaviour of notifications. A bad
configuration value (say a malformed CLOUDINARY_URL) is logged and leaves that default in place
rather than stopping the app. Variables are listed in .env.example.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable

from services.config import load_dotenv_once
from services.integrations.channels import DEFAULT_WHATSAPP_API_BASE, DiscordChannel, RetryPolicy, WhatsAppChannel
from services.integrations.events import NotifyingEvents
from services.integrations.messages import MessageComposer, OpenAIPersonaliser
from services.integrations.notifications import Notifier

log = logging.getLogger(__name__)


def _flag(value: str | None, default: bool) -> bool:
    return default if value in (None, "") else value.strip().lower() in ("1", "true", "yes", "on")


def _float(env, name: str, default: float) -> float:
    try:
        return float(env.get(name) or default)
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, env.get(name), default)
        return default


@dataclass(frozen=True)
class IntegrationConfig:
    discord_webhook_url: str | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_access_token: str | None = None
    whatsapp_api_base: str = DEFAULT_WHATSAPP_API_BASE
    notify_policy: RetryPolicy = RetryPolicy()
    cloudinary_url: str | None = None
    cloudinary_upload_preset: str | None = None
    cloudinary_upload_prefix: str | None = None
    cloudinary_folder: str = "meterline/meter_photos"
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout: float = 8.0
    openai_messages: bool = True  # personalise notification wording when OpenAI is configured

    @classmethod
    def from_env(cls) -> "IntegrationConfig":
        load_dotenv_once()
        env = os.environ
        return cls(
            discord_webhook_url=env.get("DISCORD_WEBHOOK_URL") or None,
            whatsapp_phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID") or None,
            whatsapp_access_token=env.get("WHATSAPP_ACCESS_TOKEN") or None,
            whatsapp_api_base=env.get("WHATSAPP_API_BASE") or DEFAULT_WHATSAPP_API_BASE,
            notify_policy=RetryPolicy(
                max_attempts=max(int(_float(env, "NOTIFY_MAX_ATTEMPTS", 3)), 1),
                backoff_seconds=_float(env, "NOTIFY_BACKOFF_SECONDS", 1.0),
                max_retry_after_seconds=_float(env, "NOTIFY_MAX_RETRY_AFTER_SECONDS", 60.0),
                timeout_seconds=_float(env, "NOTIFY_TIMEOUT_SECONDS", 10.0),
            ),
            cloudinary_url=env.get("CLOUDINARY_URL") or None,
            cloudinary_upload_preset=env.get("CLOUDINARY_UPLOAD_PRESET") or None,
            cloudinary_upload_prefix=env.get("CLOUDINARY_UPLOAD_PREFIX") or None,
            cloudinary_folder=env.get("CLOUDINARY_FOLDER") or "meterline/meter_photos",
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_model=env.get("OPENAI_MODEL") or "gpt-4o-mini",
            openai_timeout=_float(env, "OPENAI_TIMEOUT_SECONDS", 8.0),
            openai_messages=_flag(env.get("OPENAI_PERSONALISE_MESSAGES"), True),
        )


def wire_integrations(svc, config: IntegrationConfig | None = None, *,
                      sleep: Callable[[float], None] = time.sleep) -> None:
    """Replace the offline defaults in `svc` with the configured integrations (in place)."""
    config = config or IntegrationConfig.from_env()
    client = None
    if config.openai_api_key:
        from services.integrations.openai_advisor import OpenAIAdvisor, make_openai_client

        try:
            client = make_openai_client(config.openai_api_key, config.openai_base_url, config.openai_timeout)
            svc.advisor = OpenAIAdvisor(client, config.openai_model)
        except Exception as exc:
            log.error("OpenAI is configured but could not be set up: %s", exc)
    if config.cloudinary_url:
        from services.integrations.cloudinary_photos import CloudinaryConfig, CloudinaryPhotos

        try:
            svc.remote_photos = CloudinaryPhotos(CloudinaryConfig.from_url(
                config.cloudinary_url, upload_preset=config.cloudinary_upload_preset,
                upload_prefix=config.cloudinary_upload_prefix, folder=config.cloudinary_folder))
        except Exception as exc:
            log.error("Cloudinary is configured but could not be set up: %s", exc)
    if not config.cloudinary_url:  # Google Drive: the optional third photo store (issue 15)
        from services.integrations.drive_photos import DriveConfig, DrivePhotos

        try:
            drive = DriveConfig.from_env()
            if drive is not None:
                svc.remote_photos = DrivePhotos(drive)
        except Exception as exc:
            log.error("Google Drive is configured but could not be set up: %s", exc)
    personaliser = OpenAIPersonaliser(client, config.openai_model) if client and config.openai_messages else None
    notifier = Notifier(
        svc.db.storage,
        [DiscordChannel(config.discord_webhook_url),
         WhatsAppChannel(config.whatsapp_phone_number_id, config.whatsapp_access_token, config.whatsapp_api_base)],
        MessageComposer(personaliser), policy=config.notify_policy, sleep=sleep,
    )
    svc.events = NotifyingEvents(svc, notifier)


def notifier_of(svc) -> Notifier | None:
    """The notifier behind svc.events (None while the offline placeholder is in place)."""
    return getattr(svc.events, "notifier", None)
