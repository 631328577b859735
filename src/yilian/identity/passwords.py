"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yilian.core.errors import ValidationFailed

_hasher = PasswordHasher()
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"密码至少需要 {MIN_LENGTH} 个字符。", code="password_too_short")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash verified for unknown users so timing does not reveal which usernames exist.
DUMMY_HASH = _hasher.hash("not-a-real-password")
