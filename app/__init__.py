"""Renkei: joint-order programs for Japanese municipalities (create_app lives in app.factory)."""

from app.factory import create_app

__all__ = ["create_app"]
