"""Catalogues a workspace edits: its processes, its difficulty scale, the goals of its
comprehensive plan (総合計画) and its reasons for lost deals."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.records import Archivable
from tenants.isolation import TenantScoped


class Capability(TenantScoped, Archivable, Base):
    """A process a facility can do (組立, 梱包, 検品, 切削, ...)."""

    __tablename__ = "capabilities"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class DifficultyLevel(TenantScoped, Base):
    """One step of the workspace's difficulty scale (業務難易度), with its written definition."""

    __tablename__ = "difficulty_levels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "level"),
        CheckConstraint("level BETWEEN 1 AND 10", name="level_range"),
    )

    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    definition: Mapped[str] = mapped_column(Text, default="")


class PlanGoal(TenantScoped, Archivable, Base):
    """A goal of the municipality's comprehensive plan (総合計画) that agreements link to."""

    __tablename__ = "plan_goals"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))


class LostReason(TenantScoped, Archivable, Base):
    """Why deals are lost; defaults come from the seed report."""

    __tablename__ = "lost_reasons"
    __table_args__ = (UniqueConstraint("tenant_id", "label"),)

    label: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


DEFAULT_CAPABILITIES = (
    "組立", "梱包", "検品", "切削", "溶接", "縫製",
    "データ入力", "清掃", "農作業", "印刷", "封入・発送",
)  # fmt: skip
DEFAULT_DIFFICULTY = (
    (1, "やさしい", "手順が単純で、見本を見れば当日から作業できる。"),
    (2, "ふつう", "作業手順書に沿って、数日の習熟で安定して作業できる。"),
    (3, "むずかしい", "治具・測定具の扱いや判断を伴い、訓練と検査体制が必要。"),
    (4, "専門", "専門設備・資格または技術者の常駐が必要。"),
)
DEFAULT_LOST_REASONS = (
    "顧客都合で白紙",
    "難易度が高い",
    "単価が低く工賃向上に繋がらない",
    "その他",
)
