"""Every model module, imported once so the metadata is complete (Alembic, tests, CLI)."""

from app.agreements.models import ActionItem, Agreement, AgreementGoal
from app.auth.models import User
from app.billing.models import BillingAccount, BillingEvent
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
from app.quality.models import (
    Inspection,
    InspectionItem,
    InspectionPhoto,
    InspectionValue,
    LotWork,
    Manual,
    ManualAcknowledgement,
    ManualNotice,
    ManualVersion,
    Nonconformance,
    NonconformanceAction,
    NonconformanceFile,
    QualityPlan,
    SupportRequest,
)
from app.reports import summaries  # noqa: F401  (its flush hook keeps report summaries exact)
from app.reports.models import SUMMARY_TABLES  # noqa: F401  (tables, not classes)
from app.storage.models import StoredFile
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
    "BillingAccount",
    "BillingEvent",
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
    "Inspection",
    "InspectionItem",
    "InspectionPhoto",
    "InspectionValue",
    "Invitation",
    "LostReason",
    "LotWork",
    "Manual",
    "ManualAcknowledgement",
    "ManualNotice",
    "ManualVersion",
    "MatchingSettings",
    "Membership",
    "Nonconformance",
    "NonconformanceAction",
    "NonconformanceFile",
    "Notification",
    "Order",
    "OrderMonth",
    "PlanGoal",
    "QualityPlan",
    "QuoteDecision",
    "StoredFile",
    "SupportAgent",
    "SupportAgentRegion",
    "SupportRequest",
    "SupportSession",
    "Tenant",
    "TenantIdCounter",
    "TimelineEntry",
    "User",
    "WorkSpec",
    "WorkSpecCapability",
]
