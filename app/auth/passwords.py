"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 10
MAX_LENGTH = 128
# A few of the passwords every list of leaked passwords starts with, plus local favourites.
COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password123", "1234567890", "12345678910", "qwertyuiop",
        "123456789a", "iloveyou12", "passw0rd12", "renkei-demo", "administrator",
        "abcdefghij", "0123456789", "1111111111", "qwerty1234", "letmein123",
    }
)  # fmt: skip


def _hasher() -> PasswordHasher:
    hasher: PasswordHasher | None = current_app.extensions.get("renkei_hasher")
    if hasher is None:
        settings = current_app.extensions["renkei_settings"]
        hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
        )
        current_app.extensions["renkei_hasher"] = hasher
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the account does not exist, so that timing does not
# reveal which e-mail addresses have accounts.
def dummy_verify(password: str) -> None:
    hasher = _hasher()
    dummy = current_app.extensions.get("renkei_dummy_hash")
    if dummy is None:
        dummy = hasher.hash("not-a-real-password")
        current_app.extensions["renkei_dummy_hash"] = dummy
    verify_password(dummy, password)


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is too weak, in the user's language; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return str(_l("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(_l("Use at most %(n)d characters.", n=MAX_LENGTH))
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return str(_l("This password is too easy to guess. Choose another."))
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        return str(_l("Do not use your e-mail address in the password."))
    return None
