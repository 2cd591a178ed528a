"""Every model module, imported once so the metadata is complete (Alembic, tests, CLI)."""

from app.auth.models import User
from tenants.audit import AuditEvent
from tenants.isolation import TenantIdCounter
from tenants.models import Invitation, Membership, Tenant

__all__ = ["AuditEvent", "Invitation", "Membership", "Tenant", "TenantIdCounter", "User"]
