"""Every model module, imported once so the metadata is complete (Alembic, tests, CLI)."""

from app.agreements.models import ActionItem, Agreement, AgreementGoal
from app.auth.models import User
from app.buyers.models import Buyer
from app.catalogs.models import Capability, DifficultyLevel, LostReason, PlanGoal
from app.deals.models import Deal, DealCapability
from app.facilities.models import Facility, FacilityCapability, FacilityWage
from app.matching.models import (
    Assignment,
    BuyerExclusion,
    MatchingSettings,
    WorkSpec,
    WorkSpecCapability,
)
from app.notifications.models import Notification
from app.orders.models import Delivery, Order, OrderMonth
from app.portal.models import QuoteDecision
from app.timeline.models import TimelineEntry
from tenants.audit import AuditEvent
from tenants.isolation import TenantIdCounter
from tenants.models import Invitation, Membership, Tenant
from tenants.support import SupportAgent, SupportAgentRegion, SupportSession

__all__ = [
    "ActionItem",
    "Agreement",
    "AgreementGoal",
    "Assignment",
    "AuditEvent",
    "Buyer",
    "BuyerExclusion",
    "Capability",
    "Deal",
    "DealCapability",
    "Delivery",
    "DifficultyLevel",
    "Facility",
    "FacilityCapability",
    "FacilityWage",
    "Invitation",
    "LostReason",
    "MatchingSettings",
    "Membership",
    "Notification",
    "Order",
    "OrderMonth",
    "PlanGoal",
    "QuoteDecision",
    "SupportAgent",
    "SupportAgentRegion",
    "SupportSession",
    "Tenant",
    "TenantIdCounter",
    "TimelineEntry",
    "User",
    "WorkSpec",
    "WorkSpecCapability",
]  # fmt: skip
