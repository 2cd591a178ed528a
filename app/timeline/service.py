"""The shared timeline of deals and orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.timeline.models import EntryKind, TimelineEntry
from tenants.isolation import USER_KEY

MAX_BODY = 4000


def add_entry(
    session: Session,
    *,
    body: str,
    deal_id: int | None = None,
    order_id: int | None = None,
    kind: EntryKind = EntryKind.NOTE,
    internal: bool = False,
) -> TimelineEntry:
    """Append to a deal's or an order's timeline; the author is the session's user."""
    if (deal_id is None) == (order_id is None):
        raise ValueError("a timeline entry belongs to exactly one deal or order")
    entry = TimelineEntry(
        deal_id=deal_id,
        order_id=order_id,
        kind=kind,
        body=body.strip()[:MAX_BODY],
        internal=internal,
        author_user_id=session.info.get(USER_KEY),
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    *,
    deal_id: int | None = None,
    order_id: int | None = None,
    include_internal: bool = True,
    limit: int = 200,
) -> list[Any]:
    """Newest first, with the author's name: one query."""
    query = (
        select(TimelineEntry, User.name)
        .outerjoin(User, User.id == TimelineEntry.author_user_id)
        .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc())
        .limit(limit)
    )
    if deal_id is not None:
        query = query.where(TimelineEntry.deal_id == deal_id)
    if order_id is not None:
        query = query.where(TimelineEntry.order_id == order_id)
    if not include_internal:
        query = query.where(TimelineEntry.internal.is_(False))
    return list(session.execute(query).all())
