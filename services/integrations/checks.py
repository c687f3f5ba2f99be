"""Integration checks for ops (`python -m scripts.check_integrations`): one line per integration.

Each check reads the same environment variables the app reads (.env.example) and says whether the
integration is configured, whether it answers, and what to fix. A check only reads: it signs in or
fetches a harmless resource (Stripe's balance, the Discord webhook's own record, the WhatsApp phone
number, Cloudinary's ping, the OpenAI model, the Auth0 signing keys, an SMTP hello). With
`send_test` the channels that can carry a message send one test message (Discord; WhatsApp to
WHATSAPP_TEST_TO; email to SMTP_TEST_TO or the sender). Secrets never appear in what is printed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import requests

from services.config import load_dotenv_once

TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    configured: bool
    ok: bool  # configured and answering as expected (False when not configured)
    detail: str
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.configured and not self.ok

    def line(self) -> str:
        state = "OK" if self.ok else ("FAILED" if self.configured else "not set")
        text = f"{state:<8} {self.name:<10} {self.detail}"
        return text + (f" | fix: {self.fix}" if self.fix else "")


def _redact(text: str, secrets: list[str | None]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def _http_error(name: str, exc: Exception, secrets: list) -> str:
    return _redact(f"{name} did not answer: {exc.__class__.__name__}: {exc}", secrets)[:300]


class Checker:
    def __init__(self, *, send_test: bool = False, timeout: float = TIMEOUT, session: requests.Session | None = None):
        load_dotenv_once()
        self.env = os.environ
        self.send_test = send_test
        self.timeout = timeout
        self.http = session or requests.Session()

    def get(self, name: str) -> str | None:
        return (self.env.get(name) or "").strip() or None

    def all(self) -> list[CheckResult]:
        checks: list[Callable[[], CheckResult]] = [self.database, self.stripe, self.discord, self.whatsapp,
                                                   self.cloudinary, self.openai, self.auth0, self.smtp]
        out = []
        for check in checks:
            try:
                out.append(check())
            except Exception as exc:  # a check must never stop the others
                out.append(CheckResult(check.__name__, True, False, f"the check crashed: {exc.__class__.__name__}"))
        return out

    # ---- each integration ----------------------------------------------------------------------
    def database(self) -> CheckResult:
        from services.config import Settings, open_storage

        secrets = [self.get("SUPABASE_KEY")]
        try:
            from sqlalchemy.engine import make_url

            secrets.append(make_url(self.get("DATABASE_URL") or "sqlite://").password)
        except Exception:
            secrets.append(self.get("DATABASE_URL"))  # unparseable: hide all of it
        settings = Settings.from_env()
        try:
            storage = open_storage(settings)
        except Exception as exc:
            return CheckResult("database", True, False,
                               _redact(f"could not open: {exc.__class__.__name__}: {exc}", secrets)[:300],
                               "check DATABASE_URL (or SUPABASE_URL and SUPABASE_KEY)")
        try:
            storage.ping()
            engine = getattr(storage, "engine", None)
            kind = engine.dialect.name if engine is not None else "Supabase REST"
            return CheckResult("database", True, True, f"{kind} answers")
        except Exception as exc:
            return CheckResult("database", True, False,
                               _redact(f"does not answer: {exc.__class__.__name__}: {exc}", secrets)[:300],
                               "start the database server or correct DATABASE_URL")
        finally:
            getattr(storage, "dispose", lambda: None)()

    def stripe(self) -> CheckResult:
        key = self.get("STRIPE_API_KEY")
        if not key:
            return CheckResult("stripe", False, False, "payment links off", "set STRIPE_API_KEY to make payment links")
        base = (self.get("STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/")
        try:
            r = self.http.get(f"{base}/v1/balance", auth=(key, ""), timeout=self.timeout)
        except requests.RequestException as exc:
            return CheckResult("stripe", True, False, _http_error("Stripe", exc, [key]), "check the network or STRIPE_API_BASE")
        if r.status_code == 200:
            mode = "live" if r.json().get("livemode") else "test"
            hint = None if self.get("STRIPE_WEBHOOK_SECRET") else \
                "set STRIPE_WEBHOOK_SECRET so payments arrive by webhook"
            return CheckResult("stripe", True, True, f"key accepted ({mode} mode)", hint)
        if r.status_code in (401, 403):
            return CheckResult("stripe", True, False, f"key refused (HTTP {r.status_code})",
                               "set STRIPE_API_KEY to a secret or restricted key of the right account")
        return CheckResult("stripe", True, False, f"HTTP {r.status_code}", "try again later; see status.stripe.com")

    def discord(self) -> CheckResult:
        url = self.get("DISCORD_WEBHOOK_URL")
        if not url:
            return CheckResult("discord", False, False, "no Discord notifications", "set DISCORD_WEBHOOK_URL")
        try:
            r = self.http.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            return CheckResult("discord", True, False, _http_error("Discord", exc, [url]), "check the network")
        if r.status_code != 200:
            return CheckResult("discord", True, False, f"webhook not found or refused (HTTP {r.status_code})",
                               "the webhook was deleted or DISCORD_WEBHOOK_URL is wrong: copy it again from the "
                               "channel's Integrations settings")
        detail = f"webhook '{r.json().get('name', '?')}' answers"
        if self.send_test:
            try:
                sent = self.http.post(url, json={"content": "Meterline integration check: this channel works."},
                                      timeout=self.timeout)
            except requests.RequestException as exc:
                return CheckResult("discord", True, False, _http_error("Discord", exc, [url]), "check the network")
            if sent.status_code >= 300:
                return CheckResult("discord", True, False, f"test message refused (HTTP {sent.status_code})",
                                   "check the webhook's channel permissions")
            detail += "; test message sent"
        return CheckResult("discord", True, True, detail)

    def whatsapp(self) -> CheckResult:
        from services.integrations.channels import DEFAULT_WHATSAPP_API_BASE

        pid, token = self.get("WHATSAPP_PHONE_NUMBER_ID"), self.get("WHATSAPP_ACCESS_TOKEN")
        if not (pid and token):
            if pid or token:
                return CheckResult("whatsapp", True, False, "half configured",
                                   "set both WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN")
            return CheckResult("whatsapp", False, False, "no WhatsApp notifications",
                               "set WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN")
        base = (self.get("WHATSAPP_API_BASE") or DEFAULT_WHATSAPP_API_BASE).rstrip("/")
        headers = {"Authorization": f"Bearer {token}"}
        try:
            r = self.http.get(f"{base}/{pid}", params={"fields": "display_phone_number"}, headers=headers,
                              timeout=self.timeout)
        except requests.RequestException as exc:
            return CheckResult("whatsapp", True, False, _http_error("WhatsApp", exc, [token]), "check the network")
        if r.status_code in (401, 403):
            return CheckResult("whatsapp", True, False, f"token refused (HTTP {r.status_code})",
                               "WHATSAPP_ACCESS_TOKEN expired or lacks whatsapp_business_messaging: make a new one")
        if r.status_code != 200:
            return CheckResult("whatsapp", True, False, f"phone number id not found (HTTP {r.status_code})",
                               "check WHATSAPP_PHONE_NUMBER_ID (Meta app, WhatsApp, API setup)")
        detail = f"sending number {r.json().get('display_phone_number', pid)}"
        if self.send_test:
            to = self.get("WHATSAPP_TEST_TO")
            if not to:
                return CheckResult("whatsapp", True, True, detail + "; no test message",
                                   "set WHATSAPP_TEST_TO (a number in international format) to send one")
            sent = self.http.post(f"{base}/{pid}/messages", headers=headers, timeout=self.timeout,
                                  json={"messaging_product": "whatsapp", "to": to.lstrip("+"), "type": "text",
                                        "text": {"body": "Meterline integration check: this channel works."}})
            if sent.status_code >= 300:
                return CheckResult("whatsapp", True, False, f"test message refused (HTTP {sent.status_code})",
                                   "the recipient must have messaged the number in the last 24 h, or use a template")
            detail += f"; test message sent to {to}"
        return CheckResult("whatsapp", True, True, detail)

    def cloudinary(self) -> CheckResult:
        url = self.get("CLOUDINARY_URL")
        if not url:
            return CheckResult("cloudinary", False, False, "meter photos kept locally only", "set CLOUDINARY_URL")
        from services.integrations.cloudinary_photos import CloudinaryConfig

        try:
            c = CloudinaryConfig.from_url(url, upload_preset=self.get("CLOUDINARY_UPLOAD_PRESET"),
                                          upload_prefix=self.get("CLOUDINARY_UPLOAD_PREFIX"))
        except Exception as exc:
            return CheckResult("cloudinary", True, False, str(exc)[:200], "correct CLOUDINARY_URL")
        if not (c.api_key and c.api_secret):
            return CheckResult("cloudinary", True, True, f"cloud {c.cloud_name}, unsigned preset {c.upload_preset} "
                                                         "(not checked: that needs an upload)")
        base = (c.upload_prefix or "https://api.cloudinary.com").rstrip("/")
        try:
            r = self.http.get(f"{base}/v1_1/{c.cloud_name}/ping", auth=(c.api_key, c.api_secret), timeout=self.timeout)
        except requests.RequestException as exc:
            return CheckResult("cloudinary", True, False, _http_error("Cloudinary", exc, [c.api_secret]),
                               "check the network")
        if r.status_code == 200:
            return CheckResult("cloudinary", True, True, f"cloud {c.cloud_name} accepts the key")
        if r.status_code in (401, 403):
            return CheckResult("cloudinary", True, False, f"key refused (HTTP {r.status_code})",
                               "copy CLOUDINARY_URL again from the Cloudinary console")
        return CheckResult("cloudinary", True, False, f"cloud {c.cloud_name}: HTTP {r.status_code}",
                           "check the cloud name in CLOUDINARY_URL")

    def openai(self) -> CheckResult:
        key = self.get("OPENAI_API_KEY")
        if not key:
            return CheckResult("openai", False, False, "statistical checks and template wording only",
                               "set OPENAI_API_KEY for reading advice and message wording")
        base = (self.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        model = self.get("OPENAI_MODEL") or "gpt-4o-mini"
        try:
            r = self.http.get(f"{base}/models/{model}", headers={"Authorization": f"Bearer {key}"}, timeout=self.timeout)
        except requests.RequestException as exc:
            return CheckResult("openai", True, False, _http_error("OpenAI", exc, [key]), "check the network or OPENAI_BASE_URL")
        if r.status_code == 200:
            return CheckResult("openai", True, True, f"key accepted, model {model} available")
        if r.status_code in (401, 403):
            return CheckResult("openai", True, False, f"key refused (HTTP {r.status_code})", "set a valid OPENAI_API_KEY")
        if r.status_code == 404:
            return CheckResult("openai", True, False, f"model {model} not available to this key",
                               "set OPENAI_MODEL to a model the key can use")
        return CheckResult("openai", True, False, f"HTTP {r.status_code}", "try again later")

    def auth0(self) -> CheckResult:
        from services.accounts.api_auth import normalize_domain

        domain, jwks = self.get("AUTH0_DOMAIN"), self.get("AUTH0_JWKS_URL")
        if not (domain or jwks):
            return CheckResult("auth0", False, False, "API accepts the header token only",
                               "set AUTH0_DOMAIN and AUTH0_API_IDENTIFIER for Auth0 bearer tokens")
        url = jwks or f"https://{normalize_domain(domain)}/.well-known/jwks.json"
        hint = None if self.get("AUTH0_API_IDENTIFIER") else "set AUTH0_API_IDENTIFIER (the API's audience)"
        try:
            r = self.http.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            return CheckResult("auth0", True, False, _http_error("Auth0", exc, []), "check AUTH0_DOMAIN and the network")
        try:
            keys = r.json().get("keys") if r.status_code == 200 else None
        except ValueError:
            keys = None
        if not keys:
            return CheckResult("auth0", True, False, f"no signing keys at {url} (HTTP {r.status_code})",
                               "check AUTH0_DOMAIN (the tenant, e.g. tenant.eu.auth0.com)")
        return CheckResult("auth0", True, True, f"{len(keys)} signing key(s) at {url}", hint)

    def smtp(self) -> CheckResult:
        from services.integrations.channels import RetryPolicy
        from services.integrations.email import Attachment, SmtpMailer, SmtpSettings

        settings = SmtpSettings.from_env()
        if not (settings.host or settings.sender):
            return CheckResult("smtp", False, False, "bills are not emailed", "set SMTP_HOST and SMTP_SENDER")
        mailer = SmtpMailer(settings)
        problem = mailer.missing()
        if problem:
            return CheckResult("smtp", True, False, "half configured", problem)
        try:
            answer = mailer.check()
        except Exception as exc:
            return CheckResult("smtp", True, False, mailer.redact(f"{settings.host}:{settings.port}: "
                                                                  f"{exc.__class__.__name__}: {exc}")[:300],
                               "check SMTP_HOST, SMTP_PORT, SMTP_STARTTLS/SMTP_SSL, SMTP_USER and SMTP_PASSWORD")
        detail = f"{settings.host}:{settings.port} {answer}" + (" (signed in)" if settings.user else "")
        if self.send_test:
            from email.utils import parseaddr

            to = self.get("SMTP_TEST_TO") or parseaddr(settings.sender)[1]
            msg = mailer.message(to, "Meterline integration check", "This address receives Meterline's bills.",
                                 (Attachment("check.txt", b"Meterline integration check\n", "text/plain"),))
            sent = mailer.send(msg, RetryPolicy(max_attempts=1))
            if not sent.ok:
                return CheckResult("smtp", True, False, f"test email to {to} failed: {sent.error}",
                                   "the server accepted the connection but not the message: check SMTP_SENDER")
            detail += f"; test email sent to {to}"
        return CheckResult("smtp", True, True, detail)
