"""python -m scripts.check_integrations against loopback servers: a fake provider API (Stripe,
Discord, WhatsApp, Cloudinary, OpenAI, Auth0 JWKS) and a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import pytest

from scripts import check_integrations
from tests.documents.smtp_server import SmtpServer, free_port
from tests.integrations.fakeserver import Reply

VARS = ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_KEY", "STRIPE_API_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET",
        "DISCORD_WEBHOOK_URL", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_API_BASE",
        "WHATSAPP_TEST_TO", "CLOUDINARY_URL", "CLOUDINARY_UPLOAD_PRESET", "CLOUDINARY_UPLOAD_PREFIX", "OPENAI_API_KEY",
        "OPENAI_BASE_URL", "OPENAI_MODEL", "AUTH0_DOMAIN", "AUTH0_JWKS_URL", "AUTH0_API_IDENTIFIER", "SMTP_HOST",
        "SMTP_PORT", "SMTP_STARTTLS", "SMTP_SSL", "SMTP_USER", "SMTP_PASSWORD", "SMTP_SENDER", "SMTP_TEST_TO")
SECRETS = ("sk_test_secret123", "wa-token-secret", "cl-secret", "sk-openai-secret", "webhook-secret-token")


@pytest.fixture
def env(monkeypatch, tmp_path):
    for v in VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("METERLINE_DOTENV", "0")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    return monkeypatch


def provider(rec) -> Reply:
    routes = {
        ("GET", "/v1/balance"): Reply(200, {"object": "balance", "livemode": False}),
        ("GET", "/api/webhooks/1/webhook-secret-token"): Reply(200, {"name": "billing"}),
        ("POST", "/api/webhooks/1/webhook-secret-token"): Reply(204, b""),
        ("GET", "/v21.0/1065"): Reply(200, {"display_phone_number": "+92 300 0000000", "id": "1065"}),
        ("POST", "/v21.0/1065/messages"): Reply(200, {"messages": [{"id": "wamid.1"}]}),
        ("GET", "/v1_1/democloud/ping"): Reply(200, {"status": "ok"}),
        ("GET", "/v1/models/gpt-4o-mini"): Reply(200, {"id": "gpt-4o-mini"}),
        ("GET", "/.well-known/jwks.json"): Reply(200, {"keys": [{"kid": "k1", "kty": "RSA"}]}),
    }
    return routes.get((rec.method, rec.path), Reply(404, {"error": "no such thing"}))


def configure(env, server, smtp_port: int):
    base = server.url
    for k, v in {"STRIPE_API_KEY": "sk_test_secret123", "STRIPE_API_BASE": base, "STRIPE_WEBHOOK_SECRET": "whsec_x",
                 "DISCORD_WEBHOOK_URL": f"{base}/api/webhooks/1/webhook-secret-token",
                 "WHATSAPP_PHONE_NUMBER_ID": "1065", "WHATSAPP_ACCESS_TOKEN": "wa-token-secret",
                 "WHATSAPP_API_BASE": f"{base}/v21.0", "WHATSAPP_TEST_TO": "+923000000001",
                 "CLOUDINARY_URL": "cloudinary://key1:cl-secret@democloud", "CLOUDINARY_UPLOAD_PREFIX": base,
                 "OPENAI_API_KEY": "sk-openai-secret", "OPENAI_BASE_URL": f"{base}/v1",
                 "AUTH0_DOMAIN": "tenant.example", "AUTH0_JWKS_URL": f"{base}/.well-known/jwks.json",
                 "AUTH0_API_IDENTIFIER": "https://api.example", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
                 "SMTP_STARTTLS": "false", "SMTP_SENDER": "Billing <billing@example.com>",
                 "SMTP_TEST_TO": "ops@example.com"}.items():
        env.setenv(k, v)


def lines_of(out: str) -> dict[str, str]:
    return {ln.split()[1] if not ln.startswith("not set") else ln.split()[2]: ln for ln in out.strip().splitlines()}


def test_everything_configured_and_answering(env, server, capsys):
    smtp = SmtpServer().start()
    try:
        server.default = provider
        configure(env, server, smtp.port)
        assert check_integrations.main(["--timeout", "5"]) == 0
        out = capsys.readouterr().out
        lines = lines_of(out)
        assert set(lines) == {"database", "stripe", "discord", "whatsapp", "cloudinary", "openai", "auth0", "smtp"}
        assert all(ln.startswith("OK") for ln in lines.values()), out
        assert "key accepted (test mode)" in lines["stripe"] and "webhook 'billing' answers" in lines["discord"]
        assert "+92 300 0000000" in lines["whatsapp"] and "1 signing key(s)" in lines["auth0"]
        assert not [r for r in server.requests if r.method == "POST"] and smtp.messages == []  # read-only
        assert check_integrations.main(["--send-test", "--timeout", "5"]) == 0
        out = capsys.readouterr().out
        assert "test message sent" in lines_of(out)["discord"] and "test email sent to ops@example.com" in out
        assert [m["To"] for m in smtp.messages] == ["ops@example.com"]
        wa = next(r for r in server.requests if r.path.endswith("/messages"))
        assert wa.json()["to"] == "923000000001" and wa.headers["authorization"] == "Bearer wa-token-secret"
        assert not any(s in out for s in SECRETS)
    finally:
        smtp.stop()


def test_nothing_configured_is_not_a_failure(env, capsys):
    assert check_integrations.main([]) == 0
    lines = lines_of(capsys.readouterr().out)
    assert lines["database"].startswith("OK")
    for name in ("stripe", "discord", "whatsapp", "cloudinary", "openai", "auth0", "smtp"):
        assert lines[name].startswith("not set") and "fix: set " in lines[name]


def test_failures_say_what_to_fix_and_exit_1(env, server, capsys):
    server.default = lambda rec: Reply(401, {"error": "unauthorized"})
    configure(env, server, free_port())  # nothing listens on the SMTP port
    env.setenv("SMTP_USER", "mailer")
    env.setenv("SMTP_PASSWORD", "smtp-password-secret")
    assert check_integrations.main(["--timeout", "3"]) == 1
    captured = capsys.readouterr()
    lines = lines_of(captured.out)
    assert lines["stripe"].startswith("FAILED") and "key refused (HTTP 401)" in lines["stripe"]
    assert "fix: set STRIPE_API_KEY" in lines["stripe"]
    assert lines["discord"].startswith("FAILED") and "copy it again" in lines["discord"]
    assert "WHATSAPP_ACCESS_TOKEN expired" in lines["whatsapp"] and "key refused" in lines["cloudinary"]
    assert lines["auth0"].startswith("FAILED") and lines["smtp"].startswith("FAILED")
    assert lines["database"].startswith("OK")
    assert "failed: stripe, discord, whatsapp, cloudinary, openai, auth0, smtp" in captured.err
    assert not any(s in captured.out for s in (*SECRETS, "smtp-password-secret"))


def test_a_database_that_does_not_answer_fails(env, capsys, tmp_path):
    env.setenv("DATABASE_URL", f"postgresql://nobody:s3cretpw@127.0.0.1:{free_port()}/none?connect_timeout=2")
    assert check_integrations.main([]) == 1
    out = capsys.readouterr().out
    assert lines_of(out)["database"].startswith("FAILED") and "s3cretpw" not in out
