"""Password rules (OWASP ASVS 4 level 2, section 2.1).

- At least 12 characters, up to 128 (ASVS asks for at least 64 to be allowed); every printable
  character, spaces and Unicode included, is allowed and nothing is trimmed or truncated.
- No composition rules (no "must contain a digit"): they make passwords worse, not stronger.
- Refused when it is a known common password (services/accounts/common_passwords.txt, bundled, checked
  offline), a common word with digits or symbols around it ("Password2026!"), one repeated
  character, or contains the username.
Every refusal names the field and the fix.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from services.errors import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 128
_LIST = Path(__file__).with_name("common_passwords.txt")
# Words people pad with digits and symbols to pass a length rule.
_STEMS = frozenset("""password passw0rd p@ssw0rd p@ssword pass admin administrator welcome letmein qwerty
qwertyuiop asdfgh iloveyou changeme secret default guest login user test root master monkey dragon
football sunshine princess superman batman shadow summer winter spring autumn january february
march april may june july august september october november december monday friday india
meterline billing electricity""".split())
_PAD = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$", re.UNICODE)
FIX = "Use 12 or more characters, for example a few unrelated words."


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(x.strip().lower() for x in lines if x.strip() and not x.startswith("#"))


def check_password(password: str, username: str | None = None, field: str = "password") -> None:
    """Raise ValidationError unless the password meets the policy."""
    if not isinstance(password, str) or not password:
        raise ValidationError(field, "is empty.", FIX)
    if any(unicodedata.category(ch) == "Cc" for ch in password):
        raise ValidationError(field, "contains a control character (such as a tab or line break).",
                              "Type it again without them.")
    n = len(password)
    if n < MIN_LENGTH:
        raise ValidationError(field, f"is {n} characters long; at least {MIN_LENGTH} are needed.", FIX)
    if n > MAX_LENGTH:
        raise ValidationError(field, f"is {n} characters long; at most {MAX_LENGTH} are allowed.",
                              "Use a shorter passphrase.")
    low = unicodedata.normalize("NFKC", password).casefold()
    core = _PAD.match(low).group(1)
    if low in common_passwords() or core in _STEMS or len(set(low)) == 1:
        raise ValidationError(field, "is one of the most common passwords and would be guessed quickly.",
                              "Choose something less predictable, for example a few unrelated words.")
    if username and len(username) >= 3 and username.casefold() in low:
        raise ValidationError(field, "contains the username.", "Choose a password that does not include it.")
