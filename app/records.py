"""Column mixins shared by the workspace's records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Archivable:
    """Nothing is hard-deleted by a user: records are archived and keep their history."""

    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None
