"""Quality records of a workspace.

- ``QualityPlan`` / ``InspectionItem``: how an order's lots are inspected (checklist items,
  measurements with tolerances, ISO 2859-1 sampling or 100 %).
- ``LotWork``: which facility made how much of a delivery lot, who led it, when, and under
  which manual version — the backbone of traceability.
- ``Inspection`` (+ values and photos): the facility's self-inspection and the central
  quality-check team's inspection of a facility's share of a lot, on site or from photos.
- ``Nonconformance`` (+ actions and evidence files): 不具合, from finding to closure.
- ``SupportRequest``: 技術支援・技術者派遣, judged against the agreement's service scope.
- ``Manual`` / ``ManualVersion`` (+ acknowledgements and notices): versioned work manuals and
  FAQ per order.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.records import Archivable, Timestamps
from tenants.isolation import TenantScoped, tenant_fk
from tenants.models import str_enum

# --- plans ------------------------------------------------------------------------------------


class SamplingMode(enum.StrEnum):
    ISO2859 = "iso2859"  # ISO 2859-1 single sampling, normal inspection
    FULL = "full"  # 100 % inspection (全数検査)


class QualityPlan(TenantScoped, Timestamps, Base):
    """How an order's lots are inspected. One per order."""

    __tablename__ = "quality_plans"
    __table_args__ = (
        tenant_fk("order_id", "orders"),
        UniqueConstraint("tenant_id", "order_id"),
        CheckConstraint("inspection_level IN ('I', 'II', 'III')", name="inspection_level"),
    )

    order_id: Mapped[int] = mapped_column(Integer)
    sampling_mode: Mapped[SamplingMode] = mapped_column(
        str_enum(SamplingMode), default=SamplingMode.ISO2859
    )
    inspection_level: Mapped[str] = mapped_column(String(3), default="II")
    aql: Mapped[str] = mapped_column(String(8), default="1.0")  # a column of Table 2-A
    notes: Mapped[str] = mapped_column(Text, default="")


class ItemKind(enum.StrEnum):
    CHECK = "check"  # a checklist item: OK / not OK
    MEASURE = "measure"  # a measurement against nominal ± tolerances


class InspectionItem(TenantScoped, Base):
    __tablename__ = "inspection_items"
    __table_args__ = (
        tenant_fk("plan_id", "quality_plans"),
        CheckConstraint("kind = 'check' OR nominal IS NOT NULL", name="measurement_has_nominal"),
        CheckConstraint(
            "(tolerance_minus IS NULL OR tolerance_minus >= 0)"
            " AND (tolerance_plus IS NULL OR tolerance_plus >= 0)",
            name="tolerances_non_negative",
        ),
        Index("ix_inspection_items_plan", "tenant_id", "plan_id", "position"),
    )

    plan_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind))
    name: Mapped[str] = mapped_column(String(120))
    criteria: Mapped[str] = mapped_column(Text, default="")  # what to look for, how
    unit: Mapped[str] = mapped_column(String(20), default="")
    nominal: Mapped[float | None] = mapped_column(Float, default=None)
    tolerance_minus: Mapped[float | None] = mapped_column(Float, default=None)
    tolerance_plus: Mapped[float | None] = mapped_column(Float, default=None)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def lower_limit(self) -> float | None:
        if self.nominal is None or self.tolerance_minus is None:
            return None
        return self.nominal - self.tolerance_minus

    @property
    def upper_limit(self) -> float | None:
        if self.nominal is None or self.tolerance_plus is None:
            return None
        return self.nominal + self.tolerance_plus


# --- manuals ----------------------------------------------------------------------------------


class ManualKind(enum.StrEnum):
    MANUAL = "manual"  # 作業マニュアル
    REGULATION = "regulation"  # レギュレーション
    FAQ = "faq"


class Manual(TenantScoped, Timestamps, Archivable, Base):
    __tablename__ = "manuals"
    __table_args__ = (
        tenant_fk("order_id", "orders"),
        Index("ix_manuals_order", "tenant_id", "order_id"),
    )

    order_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ManualKind] = mapped_column(str_enum(ManualKind), default=ManualKind.MANUAL)
    title: Mapped[str] = mapped_column(String(200))


class ManualVersion(TenantScoped, Base):
    """A published version; never edited afterwards (a change is a new version)."""

    __tablename__ = "manual_versions"
    __table_args__ = (
        tenant_fk("manual_id", "manuals"),
        tenant_fk("file_id", "stored_files"),
        UniqueConstraint("tenant_id", "manual_id", "version_no"),
        CheckConstraint("version_no >= 1", name="version_positive"),
    )

    manual_id: Mapped[int] = mapped_column(Integer)
    version_no: Mapped[int] = mapped_column(Integer)
    changes: Mapped[str] = mapped_column(Text, default="")  # what changed, for the notices
    body: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[int | None] = mapped_column(Integer, default=None)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class ManualAcknowledgement(TenantScoped, Base):
    """A facility confirmed it works to this version (確認済み)."""

    __tablename__ = "manual_acknowledgements"
    __table_args__ = (
        tenant_fk("version_id", "manual_versions"),
        tenant_fk("facility_id", "facilities"),
        UniqueConstraint("tenant_id", "version_id", "facility_id"),
    )

    version_id: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int] = mapped_column(Integer)
    acknowledged_by: Mapped[str] = mapped_column(String(100), default="")
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)


class ManualNotice(TenantScoped, Base):
    """An in-app notice to a facility that a new version was published (the facilities'
    portal shows these; ``seen_at`` is set there)."""

    __tablename__ = "manual_notices"
    __table_args__ = (
        tenant_fk("version_id", "manual_versions"),
        tenant_fk("facility_id", "facilities"),
        UniqueConstraint("tenant_id", "version_id", "facility_id"),
        Index("ix_manual_notices_facility", "tenant_id", "facility_id", "seen_at"),
    )

    version_id: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(default=None)


# --- lots -------------------------------------------------------------------------------------


class LotWork(TenantScoped, Timestamps, Base):
    """A facility's share of a delivery lot: how many, led by whom, when, to which manual."""

    __tablename__ = "lot_works"
    __table_args__ = (
        tenant_fk("delivery_id", "deliveries"),
        tenant_fk("facility_id", "facilities"),
        tenant_fk("manual_version_id", "manual_versions"),
        UniqueConstraint("tenant_id", "delivery_id", "facility_id"),
        Index("ix_lot_works_facility", "tenant_id", "facility_id"),
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        CheckConstraint("workers IS NULL OR workers >= 0", name="workers_non_negative"),
    )

    delivery_id: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    lead_person: Mapped[str] = mapped_column(String(100), default="")  # 作業責任者
    workers: Mapped[int | None] = mapped_column(Integer, default=None)
    started_on: Mapped[date | None] = mapped_column(Date, default=None)
    finished_on: Mapped[date | None] = mapped_column(Date, default=None)
    manual_version_id: Mapped[int | None] = mapped_column(Integer, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


# --- inspections ------------------------------------------------------------------------------


class InspectionStage(enum.StrEnum):
    SELF = "self"  # 自主検査 by the facility
    CENTRAL = "central"  # 品質チェックチームによる検査 before delivery


class InspectionMethod(enum.StrEnum):
    ON_SITE = "on_site"  # 現物確認
    REMOTE_PHOTO = "remote_photo"  # 写真による遠隔確認


class InspectionResult(enum.StrEnum):
    PENDING = "pending"  # photos received, verdict to come
    ACCEPTED = "accepted"
    PARTIAL = "partial"  # part of the lot accepted (after sorting)
    REJECTED = "rejected"


class Inspection(TenantScoped, Timestamps, Base):
    """One inspection of a facility's share of a lot. ``quantity`` items were presented,
    ``sample_size`` of them inspected, each ending passed, reworked or failed."""

    __tablename__ = "inspections"
    __table_args__ = (
        tenant_fk("delivery_id", "deliveries"),
        tenant_fk("facility_id", "facilities"),
        Index("ix_inspections_delivery", "tenant_id", "delivery_id"),
        Index("ix_inspections_facility", "tenant_id", "facility_id", "inspected_on"),
        CheckConstraint("sample_size <= quantity", name="sample_within_quantity"),
        CheckConstraint(
            "passed >= 0 AND reworked >= 0 AND failed >= 0", name="counts_non_negative"
        ),
        CheckConstraint("passed + reworked + failed = sample_size", name="counts_add_up"),
        CheckConstraint(
            "accepted_quantity IS NULL OR (accepted_quantity >= 0"
            " AND accepted_quantity <= quantity)",
            name="accepted_within_quantity",
        ),
    )

    delivery_id: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int] = mapped_column(Integer)
    stage: Mapped[InspectionStage] = mapped_column(str_enum(InspectionStage))
    method: Mapped[InspectionMethod] = mapped_column(
        str_enum(InspectionMethod), default=InspectionMethod.ON_SITE
    )
    inspector: Mapped[str] = mapped_column(String(100))
    inspected_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    reworked: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[InspectionResult] = mapped_column(
        str_enum(InspectionResult), default=InspectionResult.PENDING
    )
    accepted_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    # The sampling plan in force when inspected (kept: the plan may change later).
    plan_code_letter: Mapped[str] = mapped_column(String(2), default="")
    plan_sample_size: Mapped[int | None] = mapped_column(Integer, default=None)
    plan_accept: Mapped[int | None] = mapped_column(Integer, default=None)
    plan_reject: Mapped[int | None] = mapped_column(Integer, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    @property
    def nonconforming(self) -> int:
        """Items found nonconforming in the sample, reworked or not."""
        return self.failed + self.reworked


class InspectionValue(TenantScoped, Base):
    """One result of one item: a measured value (measurements) or OK / not OK (checklist)."""

    __tablename__ = "inspection_values"
    __table_args__ = (
        tenant_fk("inspection_id", "inspections"),
        tenant_fk("item_id", "inspection_items"),
        Index("ix_inspection_values_inspection", "tenant_id", "inspection_id"),
    )

    inspection_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(Integer)
    sample_no: Mapped[int] = mapped_column(Integer, default=1)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    ok: Mapped[bool] = mapped_column(Boolean)


class InspectionPhoto(TenantScoped, Base):
    __tablename__ = "inspection_photos"
    __table_args__ = (
        tenant_fk("inspection_id", "inspections"),
        tenant_fk("file_id", "stored_files"),
        Index("ix_inspection_photos_inspection", "tenant_id", "inspection_id"),
    )

    inspection_id: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(String(200), default="")


# --- nonconformances --------------------------------------------------------------------------


class Severity(enum.StrEnum):
    CRITICAL = "critical"  # 重大
    MAJOR = "major"  # 重要
    MINOR = "minor"  # 軽微


class NonconformanceSource(enum.StrEnum):
    INTERNAL = "internal"  # found by the facility or the quality-check team
    BUYER = "buyer"  # reported by the buyer


class NonconformanceStatus(enum.StrEnum):
    OPEN = "open"  # 受付
    INVESTIGATING = "investigating"  # 原因調査中
    ACTING = "acting"  # 対策実施中
    VERIFYING = "verifying"  # 効果確認中
    CLOSED = "closed"  # 完了


class Nonconformance(TenantScoped, Timestamps, Base):
    __tablename__ = "nonconformances"
    __table_args__ = (
        tenant_fk("delivery_id", "deliveries"),
        tenant_fk("facility_id", "facilities"),
        tenant_fk("inspection_id", "inspections"),
        Index("ix_nonconformances_status", "tenant_id", "status", "found_on"),
        Index("ix_nonconformances_delivery", "tenant_id", "delivery_id"),
        Index("ix_nonconformances_facility", "tenant_id", "facility_id", "found_on"),
        CheckConstraint(
            "quantity_affected IS NULL OR quantity_affected >= 0", name="quantity_non_negative"
        ),
        CheckConstraint("status <> 'closed' OR closed_on IS NOT NULL", name="closed_has_date"),
    )

    delivery_id: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[int | None] = mapped_column(Integer, default=None)
    inspection_id: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[NonconformanceSource] = mapped_column(str_enum(NonconformanceSource))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    quantity_affected: Mapped[int | None] = mapped_column(Integer, default=None)
    found_on: Mapped[date] = mapped_column(Date)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[NonconformanceStatus] = mapped_column(
        str_enum(NonconformanceStatus), default=NonconformanceStatus.OPEN
    )
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    closure_note: Mapped[str] = mapped_column(Text, default="")
    raised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class ActionKind(enum.StrEnum):
    CORRECTIVE = "corrective"  # 是正処置
    PREVENTIVE = "preventive"  # 予防処置 (再発防止)


class NonconformanceAction(TenantScoped, Timestamps, Base):
    __tablename__ = "nonconformance_actions"
    __table_args__ = (
        tenant_fk("nonconformance_id", "nonconformances"),
        Index("ix_nonconformance_actions_nc", "tenant_id", "nonconformance_id"),
    )

    nonconformance_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ActionKind] = mapped_column(str_enum(ActionKind))
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date, default=None)


class NonconformanceFile(TenantScoped, Base):
    """Evidence attached to a nonconformance (photos of the defect, of the fix, reports)."""

    __tablename__ = "nonconformance_files"
    __table_args__ = (
        tenant_fk("nonconformance_id", "nonconformances"),
        tenant_fk("file_id", "stored_files"),
        Index("ix_nonconformance_files_nc", "tenant_id", "nonconformance_id"),
    )

    nonconformance_id: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(String(200), default="")


# --- technical support ------------------------------------------------------------------------


class SupportMode(enum.StrEnum):
    REMOTE = "remote"  # video, photos, drawings
    ONSITE = "onsite"  # an engineer goes to the buyer's site (技術者派遣)


class SupportStatus(enum.StrEnum):
    OPEN = "open"  # 受付: not promised yet
    PROMISED = "promised"  # 対応を約束
    DONE = "done"  # 完了
    DECLINED = "declined"  # お断り


class ScopeVerdict(enum.StrEnum):
    IN_SCOPE = "in_scope"  # covered: remote support or a free visit left
    PAID = "paid"  # on-site at the agreed rate
    OUT_OF_SCOPE = "out_of_scope"  # not covered by the agreement
    NO_TERMS = "no_terms"  # no agreement or no service scope agreed


class SupportRequest(TenantScoped, Timestamps, Base):
    __tablename__ = "support_requests"
    __table_args__ = (
        tenant_fk("order_id", "orders"),
        tenant_fk("agreement_id", "agreements"),
        tenant_fk("nonconformance_id", "nonconformances"),
        tenant_fk("facility_id", "facilities"),
        Index("ix_support_requests_status", "tenant_id", "status", "requested_at"),
        Index("ix_support_requests_visits", "tenant_id", "agreement_id", "fiscal_year"),
        CheckConstraint("fee_yen IS NULL OR fee_yen >= 0", name="fee_non_negative"),
    )

    order_id: Mapped[int] = mapped_column(Integer)
    agreement_id: Mapped[int | None] = mapped_column(Integer, default=None)  # when raised
    nonconformance_id: Mapped[int | None] = mapped_column(Integer, default=None)
    facility_id: Mapped[int | None] = mapped_column(Integer, default=None)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    mode: Mapped[SupportMode] = mapped_column(str_enum(SupportMode))
    remote_tried: Mapped[bool] = mapped_column(Boolean, default=False)
    response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[SupportStatus] = mapped_column(
        str_enum(SupportStatus), default=SupportStatus.OPEN
    )
    # Settled when promised: the scope verdict then, the fee, whether a free visit is used.
    verdict: Mapped[ScopeVerdict | None] = mapped_column(str_enum(ScopeVerdict), default=None)
    fee_yen: Mapped[int | None] = mapped_column(Integer, default=None)
    uses_free_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    fiscal_year: Mapped[int | None] = mapped_column(Integer, default=None)
    exception_note: Mapped[str] = mapped_column(Text, default="")  # why promised outside scope
    promised_at: Mapped[datetime | None] = mapped_column(default=None)
    visit_on: Mapped[date | None] = mapped_column(Date, default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")
    resolved_on: Mapped[date | None] = mapped_column(Date, default=None)
