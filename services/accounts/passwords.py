"""Password hashing: argon2id with OWASP parameters (>= 19 MiB memory, 2 iterations).

Only hashes are stored; there is no way to recover a password. `verify` runs in constant time
for a given hash and also rehashes hashes made with weaker parameters.
"""
from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB (19 MiB), t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
MIN_PASSWORD_LENGTH = 12

# A hash of a random password, verified against when the user does not exist, so that a login
# for an unknown user costs the same time as one for a known user.
_DUMMY_HASH = HASHER.hash("meterline-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
