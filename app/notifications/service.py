"""Notifications to the workspace's members and facilities: who gets them, reading, marking.

A notification is written in the caller's transaction; its mail goes out after the commit
(``send_after_commit``), so a mail that cannot be sent never undoes the work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.mail import send_mail
from app.notifications.models import Notification
from tenants.models import Membership, MembershipStatus, Role

log = logging.getLogger(__name__)

# Who handles what buyers send when no deal owner is known.
HANDLERS = (Role.ADMIN, Role.COORDINATOR)
MAX_TITLE = 200


def handlers(session: Session, owner_id: int | None = None) -> list[Membership]:
    """The deal's owner when that is an active coordinator or administrator; otherwise every
    active coordinator and administrator of the workspace."""
    members = list(
        session.scalars(
            select(Membership)
            .where(Membership.status == MembershipStatus.ACTIVE, Membership.role.in_(HANDLERS))
            .order_by(Membership.id)
        )
    )
    owner = [m for m in members if m.id == owner_id]
    return owner or members


def admins(session: Session) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.status == MembershipStatus.ACTIVE, Membership.role == Role.ADMIN)
            .order_by(Membership.id)
        )
    )


def notify_members(
    session: Session,
    members: Iterable[Membership],
    *,
    kind: str,
    title: str,
    body: str,
    link: str = "",
) -> list[Notification]:
    notes = [
        Notification(
            membership_id=member.id,
            kind=kind,
            title=title[:MAX_TITLE],
            body=body,
            link=link,
            emailed_to=member.user.email,
        )
        for member in members
    ]
    session.add_all(notes)
    return notes


def send_after_commit(notes: Sequence[Notification]) -> None:
    for note in notes:
        if not note.emailed_to:
            continue
        try:
            send_mail(note.emailed_to, note.title, note.body)
        except OSError:
            log.warning("notification mail not sent", extra={"notification": note.id})


# --- reading and marking -------------------------------------------------------------------


def for_member(session: Session, membership_id: int, limit: int = 50) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.membership_id == membership_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def for_facility(session: Session, facility_id: int, limit: int = 50) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.facility_id == facility_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(
    session: Session, *, membership_id: int | None = None, facility_id: int | None = None
) -> int:
    query = select(func.count()).select_from(Notification).where(Notification.read_at.is_(None))
    if membership_id is not None:
        query = query.where(Notification.membership_id == membership_id)
    elif facility_id is not None:
        query = query.where(Notification.facility_id == facility_id)
    else:
        return 0
    return int(session.scalar(query) or 0)


def mark_read(note: Notification, now: datetime) -> bool:
    if note.read_at is not None:
        return False
    note.read_at = now
    return True


def mark_all_read(
    session: Session,
    now: datetime,
    *,
    membership_id: int | None = None,
    facility_id: int | None = None,
) -> int:
    """Mark every unread notification of one member or one facility read (row by row, so
    each change is in the audit log)."""
    if membership_id is None and facility_id is None:
        return 0
    query = select(Notification).where(Notification.read_at.is_(None))
    if membership_id is not None:
        query = query.where(Notification.membership_id == membership_id)
    else:
        query = query.where(Notification.facility_id == facility_id)
    notes = list(session.scalars(query))
    for note in notes:
        note.read_at = now
    return len(notes)
