"""The audit log: every write to a workspace's data, recorded in the same transaction.

Writes to tenant-owned rows are recorded automatically from the session's flush, so no view
can forget; services add explicit events for actions that are not row changes (sign-in,
invitation sent).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, utcnow
from tenants.isolation import (
    USER_KEY,
    CrossTenantWrite,
    TenantScoped,
    current_tenant_id,
    register_flush_hook,
    reserve_ids,
)

ACTOR_LABEL_KEY = "actor_label"

# What the audit page shows for the codes stored in events.
ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "workspace.create": _l("Workspace created"),
    "support.access": _l("Support access"),
    "support.session.start": _l("Support session started"),
    "support.session.end": _l("Support session ended"),
}
OBJECT_LABELS = {
    "tenants": _l("Workspace"),
    "memberships": _l("Member"),
    "invitations": _l("Invitation"),
    "capabilities": _l("Process"),
    "difficulty_levels": _l("Difficulty level"),
    "plan_goals": _l("Comprehensive plan goal"),
    "lost_reasons": _l("Lost reason"),
    "facilities": _l("Facility"),
    "facility_capabilities": _l("Facility process"),
    "facility_wages": _l("Facility wage"),
    "buyers": _l("Buyer"),
    "agreements": _l("Agreement"),
    "agreement_goals": _l("Agreement goal"),
    "action_items": _l("Action plan item"),
    "deals": _l("Deal"),
    "deal_capabilities": _l("Deal process"),
    "orders": _l("Order"),
    "deliveries": _l("Delivery"),
    "order_months": _l("Monthly amount"),
    "timeline_entries": _l("Timeline entry"),
    "work_specs": _l("Work spec"),
    "work_spec_capabilities": _l("Work spec process"),
    "buyer_exclusions": _l("Buyer's excluded facility"),
    "assignments": _l("Assignment"),
    "matching_settings": _l("Matching weights"),
    "notifications": _l("Notification"),
    "billing_accounts": _l("Billing"),
    "billing_events": _l("Billing event from Stripe"),
    "stored_files": _l("File"),
    "quality_plans": _l("Quality plan"),
    "inspection_items": _l("Inspection item"),
    "lot_works": _l("Facility's work on a lot"),
    "inspections": _l("Inspection record"),
    "inspection_values": _l("Inspection result"),
    "inspection_photos": _l("Inspection photo"),
    "nonconformances": _l("Nonconformance"),
    "nonconformance_actions": _l("Corrective or preventive action"),
    "nonconformance_files": _l("Nonconformance evidence"),
    "support_requests": _l("Technical support request"),
    "manuals": _l("Manual"),
    "manual_versions": _l("Manual version"),
    "manual_acknowledgements": _l("Manual acknowledgement"),
    "manual_notices": _l("Manual notice"),
    "quote_decisions": _l("Answer to a quote"),
    "support_sessions": _l("Support session"),
}
ACTOR_LABELS = {
    "demo": _l("Demo data loader"),
    "stripe": _l("Stripe (payments)"),
    "support": _l("Support staff"),
}


def label(labels: dict[str, Any], code: str | None) -> str:
    return str(labels.get(code or "", code or ""))


def describe_changes(changes: dict[str, Any] | None) -> list[str]:
    """One readable line per field: ``role: viewer → coordinator`` or ``role: viewer``."""
    lines = []
    for key, value in sorted((changes or {}).items()):
        if isinstance(value, list) and len(value) == 2:
            old, new = ("—" if v is None else v for v in value)
            lines.append(f"{key}: {old} → {new}")
        else:
            lines.append(f"{key}: {value}")
    return lines


class AuditEvent(TenantScoped, Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_tenant_at", "tenant_id", "at"),)

    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor_label: Mapped[str | None] = mapped_column(String(60), default=None)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(60), default=None)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    changes: dict[str, Any] | None = None,
    tenant_id: int | None = None,
) -> AuditEvent:
    """Add an explicit audit event to the session (committed with the caller's work)."""
    event = AuditEvent(
        tenant_id=tenant_id if tenant_id is not None else current_tenant_id(session),
        actor_user_id=session.info.get(USER_KEY),
        actor_label=session.info.get(ACTOR_LABEL_KEY),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        changes=changes,
    )
    session.add(event)
    return event


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _column_changes(obj: Any, only_changed: bool) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in ("tenant_id", "id"):
            continue
        column = attr.columns[0]
        history = state.attrs[attr.key].history
        if only_changed and not history.has_changes():
            continue
        if column.info.get("secret"):
            changes[attr.key] = "***"
            continue
        new = history.added[0] if history.added else getattr(obj, attr.key)
        if only_changed:
            old = history.deleted[0] if history.deleted else None
            changes[attr.key] = [_plain(old), _plain(new)]
        elif new is not None:
            changes[attr.key] = _plain(new)
    return changes


def _audit_flush(session: Session, new: list[Any], dirty: list[Any], deleted: list[Any]) -> None:
    """Record the flush's row writes. Rows go in with one multi-row INSERT (not one ORM
    object each), so bulk work such as a 10,000-row import stays fast and small."""
    from tenants.models import Tenant

    rows: list[dict[str, Any]] = []
    for action, objs in (("create", new), ("update", dirty), ("delete", deleted)):
        for obj in objs:
            if isinstance(obj, AuditEvent):
                continue
            changes = _column_changes(obj, only_changed=action == "update")
            if action == "update" and not changes:
                continue
            rows.append(
                _event_row(session, action, obj.__table__.name, obj.id, changes, obj.tenant_id)
            )
    # Workspace settings live in the global tenants table; log their changes to that workspace.
    for obj in session.dirty:
        if isinstance(obj, Tenant) and session.is_modified(obj):
            if obj.id != current_tenant_id(session):
                raise CrossTenantWrite(f"settings of workspace {obj.id}")
            changes = _column_changes(obj, only_changed=True)
            if changes:
                rows.append(_event_row(session, "update", "tenants", obj.id, changes, obj.id))
    if rows:
        _insert_events(session, rows)


def _event_row(
    session: Session,
    action: str,
    object_type: str,
    object_id: int,
    changes: dict[str, Any],
    tenant_id: int,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "at": utcnow(),
        "actor_user_id": session.info.get(USER_KEY),
        "actor_label": session.info.get(ACTOR_LABEL_KEY),
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "changes": changes or None,
    }


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    by_tenant: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_tenant[row["tenant_id"]].append(row)
    for tenant_id, tenant_rows in by_tenant.items():
        last = reserve_ids(session, tenant_id, AuditEvent.__tablename__, len(tenant_rows))
        for offset, row in enumerate(tenant_rows):
            row["id"] = last - len(tenant_rows) + 1 + offset
    session.connection().execute(insert(AuditEvent), rows)


register_flush_hook(_audit_flush)
