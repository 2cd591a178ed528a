"""Lists: search, filter, sort and pagination from the query string, at a fixed query cost.

A list page costs two statements whatever the number of rows: one count, one page of rows
(plus whatever the page eager-loads for the rows it shows, also a fixed number).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class ListParams:
    """What the user asked for: ``?q=&sort=&dir=&page=`` plus named filters."""

    q: str = ""
    sort: str = ""
    descending: bool = False
    page: int = 1
    filters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(
        cls,
        args: Mapping[str, str],
        sortable: Sequence[str],
        filters: Sequence[str] = (),
        default_sort: str = "",
    ) -> ListParams:
        sort = args.get("sort", default_sort)
        try:
            page = max(1, int(args.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            q=args.get("q", "").strip()[:MAX_QUERY_LENGTH],
            sort=sort if sort in sortable else default_sort,
            descending=args.get("dir") == "desc",
            page=page,
            filters={name: args[name] for name in filters if args.get(name)},
        )

    def url_args(self, **changes: Any) -> str:
        """The query string for a link that changes some parameters (e.g. page=2)."""
        values: dict[str, Any] = {
            "q": self.q,
            "sort": self.sort,
            "dir": "desc" if self.descending else "",
            "page": self.page if self.page > 1 else "",
            **self.filters,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def sort_args(self, column: str) -> str:
        """Link for a column header: sort by it, or flip the direction if already sorted."""
        descending = not self.descending if self.sort == column else False
        return self.url_args(sort=column, dir="desc" if descending else "", page="")


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def text_search(q: str, *columns: Any) -> ColumnElement[bool] | None:
    """Every word must appear in one of the columns (case-insensitive, substring)."""
    words = [w for w in q.replace("\u3000", " ").split() if w]
    if not words:
        return None
    conditions = []
    for word in words:
        pattern = "%" + _escape_like(word) + "%"
        conditions.append(or_(*(col.ilike(pattern, escape="\\") for col in columns)))
    return and_(*conditions)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# From this many rows skipped, ``paginate`` looks up a page's ids before its rows.
DEEP_OFFSET = 500


def paginate(
    session: Session,
    statement: Select[Any],
    page: int,
    per_page: int = PAGE_SIZE,
    scalars: bool = True,
    key: Any = None,
) -> Page:
    """Count, then fetch one page. A page past the end shows the last page.

    With ``key`` (the listed table's id column), a deep page is found by its ids first: the
    skipped rows are then read from an index alone, not fetched, joined and thrown away."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    total = int(total or 0)
    last_page = max(1, ceil(total / per_page))
    page = min(max(1, page), last_page)
    offset = (page - 1) * per_page
    if key is not None and offset >= DEEP_OFFSET:
        ids = session.scalars(statement.with_only_columns(key).limit(per_page).offset(offset))
        paged = statement.where(key.in_(list(ids)))
    else:
        paged = statement.limit(per_page).offset(offset)
    result = session.scalars(paged) if scalars else session.execute(paged)
    return Page(
        items=list(result.unique().all() if scalars else result.all()),
        total=total,
        page=page,
        per_page=per_page,
    )
