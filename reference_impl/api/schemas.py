"""The API's request and response bodies, which are also its published OpenAPI schemas.

Every request body forbids unknown fields (``extra="forbid"``: a misspelt field is a 422, never
silently dropped) and bounds every string and number, so a value the database cannot hold (a NUL
character, an integer past 32 bits) is refused at the edge instead of surfacing as a 500. Each
request body carries an example: the BOLA/IDOR probes of the API suite build their requests from
the published examples, so a new endpoint without one is reported, not silently skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["draft", "active", "done", "archived"]
Sort = Literal["created_at", "-created_at", "priority", "-priority"]
INT32 = 2_147_483_647
Title = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Description = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")]
Priority = Annotated[int, Field(ge=0, le=4)]
Version = Annotated[int, Field(ge=1, le=INT32, description="the version the client last read")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkItemCreate(_Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"title": "Write the rollback notes", "description": "", "priority": 2}]})
    title: Title
    description: Description = ""
    priority: Priority = 2


class WorkItemUpdate(_Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"version": 1, "title": "Write the rollback notes (v2)"}]})
    version: Version
    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None


class Transition(_Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"version": 1, "to": "active"}]})
    version: Version
    to: Status


class WorkItem(BaseModel):
    work_item_id: UUID
    workspace_id: UUID
    title: str
    description: str
    status: Status
    priority: int
    version: int
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class WorkItemPage(BaseModel):
    items: list[WorkItem]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


class Activity(BaseModel):
    activity_id: int
    work_item_id: UUID
    action: Literal["created", "updated", "transitioned", "deleted"]
    actor_user_id: UUID | None
    correlation_id: str
    from_status: Status | None
    to_status: Status | None
    version: int
    changes: dict[str, Any]
    created_at: datetime


class Workspace(BaseModel):
    workspace_id: UUID
    name: str
    created_at: datetime


class Membership(BaseModel):
    workspace_id: UUID
    user_id: UUID
    role: Literal["owner", "admin", "member", "viewer"]
    status: Literal["invited", "active", "suspended", "removed"]


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_found, stale_version")
    message: str
    correlation_id: str
    current_version: int | None = None
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]
