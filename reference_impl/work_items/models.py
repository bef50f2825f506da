"""SQLAlchemy models of revision ``0006_work_items`` (the schema itself is the migration's)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, SmallInteger, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from reference_impl.models import Base

STATUSES = ("draft", "active", "done", "archived")
# the lifecycle the database enforces (work_items_lifecycle trigger): status -> next status
NEXT_STATUS = {"draft": "active", "active": "done", "done": "archived"}


class WorkItem(Base):
    __tablename__ = "work_items"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), primary_key=True)
    work_item_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True,
                                                    server_default=text("gen_random_uuid()"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(Text, server_default="draft")
    priority: Mapped[int] = mapped_column(SmallInteger, server_default="2")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID, ForeignKey("users.user_id"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class WorkItemActivity(Base):
    __tablename__ = "work_item_activity"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), primary_key=True)
    activity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    work_item_id: Mapped[uuid.UUID] = mapped_column(UUID)
    action: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    correlation_id: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    changes: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class ApiToken(Base):
    __tablename__ = "api_tokens"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), primary_key=True)
    token_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True,
                                                server_default=text("gen_random_uuid()"))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("users.user_id"))
    token_sha256: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
