"""The regional roll-up: the same headline KPIs summed across workspaces, aggregates only.

Who may see which workspaces is one rule, kept in two places that tests hold together: the
SQL function ``region_visible_tenants()`` (migration 0007) and ``visible_tenants`` below.
A prefecture workspace's staff see the municipal workspaces of the same prefecture that chose
to share (``shares_with_prefecture``); a platform support agent, outside any workspace, sees
the workspaces located in the agent's prefectures (migration 0010).

On PostgreSQL the figures come from ``region_kpi_components``, a SECURITY DEFINER function
that checks that rule itself and returns sums and counts per workspace — never a row — while
row-level security keeps every table closed to the app role outside its own workspace. On
SQLite (the single-machine default, without row-level security) the same figures are computed
workspace by workspace by the report's own service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.reports import kpi, service
from app.reports.kpi import Headline
from tenants.isolation import tenant_scope
from tenants.models import (
    STAFF_ROLES,
    Membership,
    MembershipStatus,
    Tenant,
    TenantKind,
)


class NotVisible(PermissionError):
    """A workspace outside what the caller may see in a roll-up was asked for."""


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    current: Headline
    previous: Headline


@dataclass(frozen=True)
class Rollup:
    period: kpi.Period
    workspaces: list[Workspace]
    total: Headline
    previous_total: Headline

    @property
    def changes(self) -> dict[str, kpi.Change]:
        return kpi.changes(self.total, self.previous_total)


def visible_tenants(session: Session, viewer: Tenant, user_id: int) -> list[Tenant]:
    """The workspaces ``viewer``'s staff member ``user_id`` may see in a roll-up."""
    if viewer.kind != TenantKind.PREFECTURE or viewer.archived_at is not None:
        return []
    # Read inside the viewer's workspace (the session is bound to it).
    member = session.scalar(
        select(Membership.id).where(
            Membership.tenant_id == viewer.id,
            Membership.user_id == user_id,
            Membership.status == MembershipStatus.ACTIVE,
            Membership.role.in_(sorted(STAFF_ROLES)),
        )
    )
    if member is None:
        return []
    return list(
        session.scalars(
            select(Tenant)
            .where(
                Tenant.prefecture_code == viewer.prefecture_code,
                Tenant.kind == TenantKind.MUNICIPALITY,
                Tenant.shares_with_prefecture.is_(True),
                Tenant.archived_at.is_(None),
            )
            .order_by(Tenant.name, Tenant.id)
        )
    )


def support_visible_tenants(session: Session, user_id: int) -> list[Tenant]:
    """The workspaces a support agent may see in a roll-up: those in the agent's regions
    (none for a person who is not an active agent)."""
    from tenants import support

    if support.agent_for(session, user_id) is None:
        return []
    return support.workspaces_in_scope(session, user_id)


def support_rollup(session: Session, user_id: int, fiscal_year: int, today: date) -> Rollup:
    return rollup(session, support_visible_tenants(session, user_id), fiscal_year, today)


COMPONENTS = text(
    "SELECT * FROM region_kpi_components(:tenant_ids, :fiscal_year, :arr_month)"
).bindparams(bindparam("tenant_ids", type_=postgresql.ARRAY(postgresql.INTEGER)))


def components(
    session: Session, tenant_ids: Sequence[int], fiscal_year: int, today: date
) -> dict[int, Headline]:
    """Each workspace's headline figures for the year, by workspace id.

    The caller must have checked that these workspaces may be seen; on PostgreSQL the
    database checks it again and refuses (``NotVisible``) otherwise.
    """
    ids = sorted(set(tenant_ids))
    if not ids:
        return {}
    p = kpi.period(fiscal_year, today)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.exc import DBAPIError

        try:
            with session.begin_nested():
                rows = session.execute(
                    COMPONENTS,
                    {"tenant_ids": ids, "fiscal_year": fiscal_year, "arr_month": p.arr_month},
                ).mappings()
                found = {row["tenant_id"]: _headline(fiscal_year, row) for row in rows}
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "42501":
                raise NotVisible(str(exc.orig)) from exc
            raise
        return found
    found = {}
    for tenant_id in ids:
        with tenant_scope(session, tenant_id):
            found[tenant_id] = service.headline_for(session, fiscal_year, today)
    return found


def _headline(fiscal_year: int, row: Any) -> Headline:
    """One row of the function: integers (the ARR month's total may be unknown)."""
    parts: dict[str, Any] = {
        name: None if row[name] is None else int(row[name]) for name in kpi.ADDITIVE_FIELDS
    }
    return Headline(fiscal_year=fiscal_year, **parts)


def rollup(session: Session, tenants: Sequence[Tenant], fiscal_year: int, today: date) -> Rollup:
    """The roll-up over ``tenants`` (already checked by the caller) for a year and the year
    before: reusable by any caller that decides who sees what (prefecture, support staff)."""
    ids = [tenant.id for tenant in tenants]
    current = components(session, ids, fiscal_year, today)
    previous = components(session, ids, fiscal_year - 1, today)
    workspaces = [
        Workspace(
            tenant.id,
            tenant.name,
            current.get(tenant.id, Headline(fiscal_year)),
            previous.get(tenant.id, Headline(fiscal_year - 1)),
        )
        for tenant in tenants
    ]
    return Rollup(
        period=kpi.period(fiscal_year, today),
        workspaces=workspaces,
        total=kpi.combine(fiscal_year, [w.current for w in workspaces]),
        previous_total=kpi.combine(fiscal_year - 1, [w.previous for w in workspaces]),
    )


def prefecture_rollup(
    session: Session, viewer: Tenant, user_id: int, fiscal_year: int, today: date
) -> Rollup:
    return rollup(session, visible_tenants(session, viewer, user_id), fiscal_year, today)
