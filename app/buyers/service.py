"""Buyer rules: the list's query, creating and editing, archiving, and the buyer's history.

No Flask here: the caller passes the values and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from app.agreements.models import Agreement
from app.buyers.models import Buyer
from app.deals.models import Deal
from app.orders.models import Order
from app.reports import drill
from app.web.listing import ListParams, text_search

SORTABLE = ("name", "industry", "created")
FILTERS = ("industry", "show", *drill.BUYER_FILTERS)
# How many of each kind the buyer's page shows, newest first.
HISTORY_LIMIT = 50

EDITABLE = (
    "name",
    "name_kana",
    "industry",
    "postal_code",
    "prefecture_code",
    "address",
    "latitude",
    "longitude",
    "website",
    "contact_name",
    "contact_email",
    "contact_phone",
    "notes",
    "is_municipality",
)


class RuleBroken(Exception):
    """A request that the rules refuse; the message is for the user."""


def sort_name() -> Any:
    """Japanese names sort by their reading: the kana when given, else the name itself."""
    return func.coalesce(func.nullif(Buyer.name_kana, ""), Buyer.name)


def archived_filter(statement: Select[Any], model: Any, show: str) -> Select[Any]:
    """``show``: "" (active only, the default), "archived" or "all"."""
    if show == "archived":
        return statement.where(model.archived_at.is_not(None))
    if show == "all":
        return statement
    return statement.where(model.archived_at.is_(None))


def list_query(params: ListParams) -> Select[Any]:
    statement = archived_filter(select(Buyer), Buyer, params.filters.get("show", ""))
    if industry := params.filters.get("industry"):
        statement = statement.where(Buyer.industry == industry)
    condition = text_search(params.q, Buyer.name, Buyer.name_kana, Buyer.industry)
    if condition is not None:
        statement = statement.where(condition)
    statement = statement.where(*drill.buyer_conditions(params.filters))
    if params.sort == "industry":
        order: list[Any] = [Buyer.industry, sort_name()]
    elif params.sort == "created":
        order = [Buyer.created_at]
    else:
        order = [sort_name()]
    if params.descending:
        order = [column.desc() for column in order]
    return statement.order_by(*order, Buyer.id)


def industries(session: Session) -> list[str]:
    """The industries in use, for the list's filter."""
    return list(
        session.scalars(
            select(Buyer.industry).where(Buyer.industry != "").distinct().order_by(Buyer.industry)
        )
    )


def create_buyer(session: Session, values: dict[str, Any]) -> Buyer:
    buyer = Buyer(**{name: values[name] for name in EDITABLE if name in values})
    session.add(buyer)
    session.flush()
    return buyer


def update_buyer(buyer: Buyer, values: dict[str, Any]) -> None:
    if buyer.archived:
        raise RuleBroken(_("This record is archived. Restore it before editing."))
    for name in EDITABLE:
        if name in values and getattr(buyer, name) != values[name]:
            setattr(buyer, name, values[name])


def archive(record: Any, now: datetime) -> bool:
    """Archive a buyer or an agreement; False when it already was."""
    if record.archived_at is not None:
        return False
    record.archived_at = now
    return True


def restore(record: Any) -> bool:
    if record.archived_at is None:
        return False
    record.archived_at = None
    return True


@dataclass(frozen=True)
class History:
    """What the workspace did with one buyer: agreements, deals and orders, newest first.

    Each list holds at most ``HISTORY_LIMIT`` rows; ``more_*`` says there are older ones.
    """

    agreements: list[Agreement]
    deals: list[Deal]
    orders: list[Order]
    more_agreements: bool
    more_deals: bool
    more_orders: bool


def history(session: Session, buyer_id: int, limit: int = HISTORY_LIMIT) -> History:
    """Three statements, whatever the number of rows."""
    agreements = list(
        session.scalars(
            select(Agreement)
            .where(Agreement.buyer_id == buyer_id)
            .order_by(Agreement.starts_on.desc().nulls_last(), Agreement.id.desc())
            .limit(limit + 1)
        )
    )
    deals = list(
        session.scalars(
            select(Deal)
            .where(Deal.buyer_id == buyer_id)
            .order_by(Deal.opened_on.desc(), Deal.id.desc())
            .limit(limit + 1)
        )
    )
    orders = list(
        session.scalars(
            select(Order)
            .where(Order.buyer_id == buyer_id)
            .order_by(Order.confirmed_on.desc(), Order.id.desc())
            .limit(limit + 1)
        )
    )
    return History(
        agreements=agreements[:limit],
        deals=deals[:limit],
        orders=orders[:limit],
        more_agreements=len(agreements) > limit,
        more_deals=len(deals) > limit,
        more_orders=len(orders) > limit,
    )


def choices(session: Session, keep_id: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the buyers a new record may name: the active ones, plus ``keep_id``
    (the current buyer of a record being edited, even when archived since)."""
    condition: ColumnElement[bool] = Buyer.archived_at.is_(None)
    if keep_id is not None:
        condition = or_(condition, Buyer.id == keep_id)
    rows = session.execute(
        select(Buyer.id, Buyer.name).where(condition).order_by(sort_name(), Buyer.id)
    ).all()
    return [(row.id, row.name) for row in rows]
