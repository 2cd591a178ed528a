"""The portal tests use the shared portal world (tests/support/shop.py) and its quality
records (tests/support/quality_shop.py)."""

from __future__ import annotations

from tests.support.quality_shop import qshop
from tests.support.shop import shop

__all__ = ["qshop", "shop"]
