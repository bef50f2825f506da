"""SQLAlchemy models matching the reference migrations (schema owned by the migrations).

They are for the adapter and the API to read and write with; the schema itself is only ever
created by Alembic, never by ``metadata.create_all``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("owner", "admin", "member", "viewer")
STATUSES = ("invited", "active", "suspended", "removed")


class Base(DeclarativeBase):
    # every timestamp of the schema is timestamptz (the rehearsal's models-match check found the drift)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Workspace(Base):
    __tablename__ = "workspaces"
    workspace_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True,
                                                    server_default=text("gen_random_uuid()"))
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True,
                                               server_default=text("gen_random_uuid()"))
    email: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="memberships_role_check"),
        CheckConstraint(f"status IN {STATUSES}", name="memberships_status_check"),
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("users.user_id"), primary_key=True)
    role: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class AuditEntry(Base):
    __tablename__ = "audit_log"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), primary_key=True)
    audit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    action: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    details: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    correlation_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
