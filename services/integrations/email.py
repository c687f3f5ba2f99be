"""Email over SMTP (settings from the environment; see .env.example): one message with a PDF attached.

SMTP_HOST, SMTP_PORT (587), SMTP_STARTTLS (true: upgrade the connection before signing in; false
with SMTP_SSL=true for port 465's implicit TLS, or neither for a local relay), SMTP_USER and
SMTP_PASSWORD (both or neither), SMTP_SENDER ("Blessings City <billing@example.com>"),
SMTP_TIMEOUT_SECONDS (20). Not configured (no host or sender): nothing is sent and the caller logs
a `skipped` row saying so.

A send is retried with backoff when it may work later (no connection, a timeout, a dropped
connection, a 4xx answer such as 421 or 451), never after a permanent 5xx refusal (a bad address,
a refused sign-in). The password never appears in an error.
"""
from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Callable

from services.config import load_dotenv_once
from services.integrations.channels import Delivery, RetryPolicy

_ADDRESS = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\"]+")


def valid_address(address: str | None) -> bool:
    return bool(address and _ADDRESS.fullmatch(address.strip()))


def _flag(value: str | None, default: bool) -> bool:
    return default if value in (None, "") else value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    sender: str | None = None
    timeout_seconds: float = 20.0

    @classmethod
    def from_env(cls) -> "SmtpSettings":
        load_dotenv_once()
        env = os.environ
        use_ssl = _flag(env.get("SMTP_SSL"), False)
        try:
            port = int(env.get("SMTP_PORT") or (465 if use_ssl else 587))
        except ValueError:
            port = 587
        try:
            timeout = float(env.get("SMTP_TIMEOUT_SECONDS") or 20)
        except ValueError:
            timeout = 20.0
        return cls(host=(env.get("SMTP_HOST") or "").strip() or None, port=port,
                   starttls=_flag(env.get("SMTP_STARTTLS"), not use_ssl), ssl=use_ssl,
                   user=env.get("SMTP_USER") or None, password=env.get("SMTP_PASSWORD") or None,
                   sender=(env.get("SMTP_SENDER") or "").strip() or None, timeout_seconds=timeout)

    def missing(self) -> str | None:
        need = [n for n, v in (("SMTP_HOST", self.host), ("SMTP_SENDER", self.sender)) if not v]
        if need:
            return f"Email is not configured (set {' and '.join(need)})."
        if not valid_address(parseaddr(self.sender)[1]):
            return f"SMTP_SENDER '{self.sender}' is not an email address (like Billing <billing@example.com>)."
        if bool(self.user) != bool(self.password):
            return "Set both SMTP_USER and SMTP_PASSWORD, or neither."
        return None


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime: str = "application/pdf"


class SmtpMailer:
    name = "email"
    label = "Email"

    def __init__(self, settings: SmtpSettings, *, sender_name: str | None = None):
        self.settings = settings
        self.sender_name = sender_name

    def missing(self) -> str | None:
        return self.settings.missing()

    def redact(self, text: str) -> str:
        return text.replace(self.settings.password, "***") if self.settings.password else text

    def message(self, to: str, subject: str, body: str, attachments: tuple[Attachment, ...] = ()) -> EmailMessage:
        msg = EmailMessage()
        name, addr = parseaddr(self.settings.sender or "")
        msg["From"] = formataddr((name or self.sender_name or "", addr))
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=addr.rsplit("@", 1)[-1] if "@" in addr else None)
        msg.set_content(body)
        for a in attachments:
            maintype, subtype = a.mime.split("/", 1)
            msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
        return msg

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context())
        conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        if s.starttls:
            conn.starttls(context=ssl.create_default_context())
        return conn

    def check(self) -> str:
        """Connect, say hello (and sign in when a user is set), send nothing. Raises on failure."""
        with self._connect() as conn:
            conn.ehlo()
            if self.settings.user:
                conn.login(self.settings.user, self.settings.password)
            code, _ = conn.noop()
        return f"answered {code}"

    def send(self, msg: EmailMessage, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> Delivery:
        error = "not attempted"
        for attempt in range(1, policy.max_attempts + 1):
            try:
                with self._connect() as conn:
                    if self.settings.user:
                        conn.login(self.settings.user, self.settings.password)
                    refused = conn.send_message(msg)
                if refused:
                    return Delivery(False, attempt, error=self.redact(f"refused recipients: {refused}")[:500])
                return Delivery(True, attempt, provider_message_id=msg["Message-ID"])
            except smtplib.SMTPResponseException as exc:
                error = self.redact(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")[:500]
                if exc.smtp_code >= 500:  # permanent: a bad address, a refused sign-in
                    return Delivery(False, attempt, error=error)
            except smtplib.SMTPRecipientsRefused as exc:
                return Delivery(False, attempt, error=self.redact(f"recipient refused: {exc.recipients}")[:500])
            except (smtplib.SMTPException, OSError, socket.timeout) as exc:  # no connection, dropped, timed out
                error = self.redact(f"{exc.__class__.__name__}: {exc}")[:500]
            if attempt < policy.max_attempts:
                sleep(policy.backoff(attempt))
        return Delivery(False, policy.max_attempts, error=f"{error} (gave up after {policy.max_attempts} attempts)")
