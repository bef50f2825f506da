"""Workspaces and memberships, read-only: the token's own workspace and its members."""

from __future__ import annotations

from uuid import UUID

import psycopg
from fastapi import APIRouter
from psycopg.rows import dict_row

from reference_impl.api.routers import ERRORS
from reference_impl.api.schemas import Membership, Workspace
from reference_impl.api.session import WorkspaceSession
from reference_impl.work_items.queries import NotFound

router = APIRouter(prefix="/v1/workspaces", tags=["workspaces"], responses=ERRORS)


@router.get("/current", response_model=Workspace, operation_id="current_workspace")
def current_workspace(s: WorkspaceSession) -> dict:
    return _workspace(s.conn, s.workspace_id)


@router.get("/{workspace_id}", response_model=Workspace, operation_id="get_workspace")
def get_workspace(workspace_id: UUID, s: WorkspaceSession) -> dict:
    return _workspace(s.conn, workspace_id)


@router.get("/{workspace_id}/memberships", response_model=list[Membership],
            operation_id="list_memberships")
def list_memberships(workspace_id: UUID, s: WorkspaceSession) -> list[dict]:
    _workspace(s.conn, workspace_id)
    with s.conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("select workspace_id, user_id, role, status from memberships "
                           "where workspace_id = %s order by user_id", (workspace_id,)).fetchall()


@router.get("/{workspace_id}/memberships/{user_id}", response_model=Membership,
            operation_id="get_membership")
def get_membership(workspace_id: UUID, user_id: UUID, s: WorkspaceSession) -> dict:
    with s.conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("select workspace_id, user_id, role, status from memberships "
                          "where workspace_id = %s and user_id = %s", (workspace_id, user_id)).fetchone()
    if row is None:
        raise NotFound(f"no membership of user {user_id} in workspace {workspace_id}")
    return row


def _workspace(conn: psycopg.Connection, workspace_id: UUID) -> dict:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("select workspace_id, name, created_at from workspaces "
                          "where workspace_id = %s", (workspace_id,)).fetchone()
    if row is None:
        raise NotFound(f"workspace {workspace_id} not found")
    return row
