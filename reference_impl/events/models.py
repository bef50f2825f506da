"""SQLAlchemy models of the replay-safe data path (revision 0008_events owns the schema).

Events and their inbox, handler effects and dead letters; automation runs and their
escalations; connector credentials (references only); inbound webhooks, outbound deliveries and
their attempts; the subscription mirror. Every table is keyed by ``workspace_id`` first.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from reference_impl.models import Base

_WS = "workspaces.workspace_id"


def _workspace() -> Mapped[uuid.UUID]:
    return mapped_column(UUID, ForeignKey(_WS, ondelete="CASCADE"), primary_key=True)


class Event(Base):
    __tablename__ = "events"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    event_type: Mapped[str] = mapped_column(Text)
    correlation_id: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime]
    payload: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    recorded_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class InboxEntry(Base):
    __tablename__ = "inbox"  # primary key inbox_consumer_event_key: one row per (consumer, event)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    consumer: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class EventEffect(Base):
    __tablename__ = "event_effects"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    effect_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    consumer: Mapped[str] = mapped_column(Text)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID)
    event_type: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (CheckConstraint("status IN ('open', 'replayed')"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    consumer: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    error_class: Mapped[str] = mapped_column(Text)
    last_error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    replayed_at: Mapped[datetime | None]


class AutomationRun(Base):
    __tablename__ = "automation_runs"
    __table_args__ = (UniqueConstraint("workspace_id", "idempotency_key",
                                       name="automation_runs_idempotency_key"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    run_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True,
                                              server_default=text("gen_random_uuid()"))
    automation: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="3")
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (ForeignKeyConstraint(["workspace_id", "run_id"],
                                           ["automation_runs.workspace_id", "automation_runs.run_id"],
                                           ondelete="CASCADE"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    escalation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ConnectorCredential(Base):
    __tablename__ = "connector_credentials"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    credential_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True,
                                                     server_default=text("gen_random_uuid()"))
    connector: Mapped[str] = mapped_column(Text)
    secret_ref: Mapped[str | None] = mapped_column(Text)  # secretref://<uuid>, never the secret
    status: Mapped[str] = mapped_column(Text, server_default="active")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class InboundWebhook(Base):
    __tablename__ = "inbound_webhooks"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    provider: Mapped[str] = mapped_column(Text, primary_key=True)
    provider_event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    event_type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSONB)
    signed_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class OutboundDelivery(Base):
    __tablename__ = "outbound_deliveries"
    __table_args__ = (UniqueConstraint("workspace_id", "idempotency_key",
                                       name="outbound_deliveries_idempotency_key"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True,
                                                   server_default=text("gen_random_uuid()"))
    endpoint_url: Mapped[str] = mapped_column(Text)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID)
    idempotency_key: Mapped[str] = mapped_column(Text)
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="5")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (ForeignKeyConstraint(
        ["workspace_id", "delivery_id"],
        ["outbound_deliveries.workspace_id", "outbound_deliveries.delivery_id"], ondelete="CASCADE"),)
    workspace_id: Mapped[uuid.UUID] = _workspace()
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    attempt_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(Text)
    replay: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class SubscriptionMirror(Base):
    __tablename__ = "subscription_mirror"
    workspace_id: Mapped[uuid.UUID] = _workspace()
    subscription_id: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    provider_sequence: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
