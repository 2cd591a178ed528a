"""The portal tests use the shared portal world (tests/support/shop.py)."""

from __future__ import annotations

from tests.support.shop import shop

__all__ = ["shop"]
