"""Screens of this package (being built)."""

from __future__ import annotations

from tenants.context import tenant_blueprint

bp = tenant_blueprint("imports", __name__, "/data")
