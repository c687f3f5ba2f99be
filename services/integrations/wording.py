"""Integration problems in the words of the person who just saved something.

The channels and checks name what to configure (SMTP_HOST, WHATSAPP_ACCESS_TOKEN): right for the
admin on System status and in the stored notification row, wrong for a reviewer who just saved a
bill (issue 18). `in_words` keeps the sentence and drops the configuration detail."""
from __future__ import annotations

import re

_SET_HINT = re.compile(r"\s*\((?:set|needs?)\b[^)]*\)")  # "(set SMTP_HOST and SMTP_SENDER)"
_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")  # SMTP_SENDER, OPENAI_API_KEY
WHERE = "An administrator can see what is missing on System status."


def in_words(reason: str | None, what: str = "It") -> str:
    """'Email is not configured (set SMTP_HOST and SMTP_SENDER).' -> 'Email is not set up. An
    administrator can see what is missing on System status.'"""
    text = _SET_HINT.sub("", reason or "").replace("not configured", "not set up").strip()
    if not text or _ENV_NAME.search(text):
        text = f"{what} is not set up correctly."
    if not text.endswith("."):
        text += "."
    return f"{text} {WHERE}" if "not set up" in text else text
