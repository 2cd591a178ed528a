"""Fixtures of the matching tests."""

from tests.support.floor import floor

__all__ = ["floor"]
