"""SQLAlchemy models of the entitlement tables (schema owned by migration 0005_entitlements)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reference_impl.models import Base

_WORKSPACE = "workspaces.workspace_id"


class Entitlement(Base):
    __tablename__ = "entitlements"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey(_WORKSPACE, ondelete="CASCADE"), primary_key=True)
    feature: Mapped[str] = mapped_column(Text, primary_key=True)
    plan: Mapped[str] = mapped_column(Text, server_default="standard")
    quota: Mapped[int] = mapped_column(BigInteger)
    grace: Mapped[int] = mapped_column(BigInteger, server_default="0")
    period_length: Mapped[timedelta] = mapped_column(server_default=text("interval '1 month'"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class UsageCounter(Base):
    __tablename__ = "usage_counters"
    __table_args__ = (
        ForeignKeyConstraint(["workspace_id", "feature"],
                             ["entitlements.workspace_id", "entitlements.feature"],
                             ondelete="CASCADE"),
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey(_WORKSPACE, ondelete="CASCADE"), primary_key=True)
    feature: Mapped[str] = mapped_column(Text, primary_key=True)
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    period_end: Mapped[datetime]
    used: Mapped[int] = mapped_column(BigInteger, server_default="0")
    quota: Mapped[int] = mapped_column(BigInteger)
    grace: Mapped[int] = mapped_column(BigInteger, server_default="0")
    closed: Mapped[bool] = mapped_column(server_default=text("false"))


class ConsumptionRecord(Base):
    __tablename__ = "consumption_records"
    __table_args__ = (
        ForeignKeyConstraint(["workspace_id", "feature"],
                             ["entitlements.workspace_id", "entitlements.feature"],
                             ondelete="CASCADE"),
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey(_WORKSPACE, ondelete="CASCADE"), primary_key=True)
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feature: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(Text, unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    granted: Mapped[bool | None]
    period_start: Mapped[datetime | None]
    used_after: Mapped[int | None] = mapped_column(BigInteger)
    quota: Mapped[int | None] = mapped_column(BigInteger)
    grace: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
