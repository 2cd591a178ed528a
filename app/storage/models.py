"""What the workspace knows about each stored file; the bytes live in the storage backend."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from tenants.isolation import TenantScoped


class StoredFile(TenantScoped, Base):
    """One upload: its key (and its preview's, for images), the name it came with, the type
    found in its content, its size and SHA-256, who uploaded it and when."""

    __tablename__ = "stored_files"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        CheckConstraint("size_bytes >= 0", name="size_non_negative"),
    )

    key: Mapped[str] = mapped_column(String(200))
    preview_key: Mapped[str | None] = mapped_column(String(200), default=None)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
