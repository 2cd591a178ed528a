"""Signed, expiring tokens for invitation and password-reset links."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class InvalidToken(Exception):
    """The link is forged, damaged or expired."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"renkei.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> dict[str, Any]:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise InvalidToken(expired=True) from exc
    except BadSignature as exc:
        raise InvalidToken() from exc
    if not isinstance(data, dict):
        raise InvalidToken()
    return data


def fingerprint(secret: str) -> str:
    """A short digest of a secret, so a token stops working once the secret changes."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]
