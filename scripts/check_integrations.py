"""Check every configured integration and print one line each: configured or not, reachable, what to fix.

    python -m scripts.check_integrations               # read-only checks
    python -m scripts.check_integrations --send-test   # also send one test message where a channel can

Reads the same environment (.env) as the app: the database, Stripe (STRIPE_API_KEY), Discord
(DISCORD_WEBHOOK_URL), WhatsApp (WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_ACCESS_TOKEN; the test message
goes to WHATSAPP_TEST_TO), Cloudinary (CLOUDINARY_URL), OpenAI (OPENAI_API_KEY), Auth0 (AUTH0_DOMAIN:
its signing keys) and SMTP (SMTP_HOST, SMTP_SENDER; the test email goes to SMTP_TEST_TO or the
sender). Each line starts OK, FAILED or "not set". Exits 1 when a configured integration fails,
0 otherwise (an integration that is not set is not a failure: the app runs without it).
"""
from __future__ import annotations

import argparse
import sys

from services.integrations.checks import TIMEOUT, Checker


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.check_integrations", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--send-test", action="store_true",
                    help="send a test message on Discord, WhatsApp (to WHATSAPP_TEST_TO) and email (to SMTP_TEST_TO)")
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help=f"seconds to wait for each answer (default {TIMEOUT:g})")
    args = ap.parse_args(argv)
    results = Checker(send_test=args.send_test, timeout=args.timeout).all()
    for r in results:
        print(r.line())
    failed = [r.name for r in results if r.failed]
    if failed:
        print(f"{len(failed)} configured integration(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
