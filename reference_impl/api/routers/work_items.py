"""Work items: create, read, edit (optimistic concurrency), transitions, delete, list, timeline.

Writes name the version the client read; a stale one is a 409 ``stale_version`` carrying the
current version. Transitions are whatever the client asks for: the database's lifecycle
trigger decides, and a refusal is a 409 ``illegal_transition``. The list is keyset-paginated:
``next_cursor`` holds the last row's sort key, so inserts while a client pages neither shift
nor repeat rows.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Response

from reference_impl.api.envelope import ApiError
from reference_impl.api.routers import CONFLICT, ERRORS
from reference_impl.api.schemas import (
    INT32,
    Activity,
    Sort,
    Status,
    Transition,
    WorkItem,
    WorkItemCreate,
    WorkItemPage,
    WorkItemUpdate,
)
from reference_impl.api.session import WorkspaceSession
from reference_impl.work_items import queries

router = APIRouter(prefix="/v1/work-items", tags=["work items"], responses=ERRORS)
MAX_PAGE, DEFAULT_PAGE = 100, 50


@router.get("", response_model=WorkItemPage, operation_id="list_work_items")
def list_work_items(s: WorkspaceSession,
                    status: Status | None = None, sort: Sort = "-created_at",
                    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
                    cursor: str | None = Query(None, max_length=400, pattern=r"^[A-Za-z0-9_-]+$")
                    ) -> Response:
    """Newest first by default; ``next_cursor`` continues after the page's last row."""
    after = _cursor(cursor, sort)
    body = queries.list_page_json(s.conn, s.workspace_id, sort=sort, limit=limit, status=status,
                                  cursor=after)
    return Response(body, media_type="application/json")


@router.post("", response_model=WorkItem, status_code=201, operation_id="create_work_item")
def create_work_item(body: WorkItemCreate, s: WorkspaceSession) -> dict:
    return queries.create_item(s.conn, s.workspace_id, s.user_id, body.title,
                               body.description, body.priority)


@router.get("/{work_item_id}", response_model=WorkItem, operation_id="get_work_item")
def get_work_item(work_item_id: UUID, s: WorkspaceSession) -> dict:
    return queries.get_item(s.conn, s.workspace_id, work_item_id)


@router.patch("/{work_item_id}", response_model=WorkItem, responses=CONFLICT,
              operation_id="update_work_item")
def update_work_item(work_item_id: UUID, body: WorkItemUpdate, s: WorkspaceSession) -> dict:
    changes = body.model_dump(exclude={"version"}, exclude_none=True)
    return queries.update_item(s.conn, s.workspace_id, work_item_id, body.version, changes)


@router.post("/{work_item_id}/transitions", response_model=WorkItem, responses=CONFLICT,
             operation_id="transition_work_item")
def transition_work_item(work_item_id: UUID, body: Transition, s: WorkspaceSession) -> dict:
    return queries.transition(s.conn, s.workspace_id, work_item_id, body.version, body.to)


@router.delete("/{work_item_id}", status_code=204, responses=CONFLICT,
               operation_id="delete_work_item", response_class=Response)
def delete_work_item(work_item_id: UUID, s: WorkspaceSession,
                     version: int = Query(..., ge=1, le=INT32)) -> Response:
    """Only a draft may be deleted (the lifecycle trigger refuses anything else)."""
    queries.delete_item(s.conn, s.workspace_id, work_item_id, version)
    return Response(status_code=204)


@router.get("/{work_item_id}/activity", response_model=list[Activity],
            operation_id="work_item_activity")
def work_item_activity(work_item_id: UUID, s: WorkspaceSession,
                       after: int = Query(0, ge=0, le=2**62, description="activity_id to start after"),
                       limit: int = Query(100, ge=1, le=MAX_PAGE)) -> list[dict]:
    return queries.activity(s.conn, s.workspace_id, work_item_id, limit, after)


def _cursor(text: str | None, sort: str) -> queries.Cursor | None:
    if text is None:
        return None
    try:
        return queries.Cursor.decode(text, sort)
    except ValueError as exc:
        raise ApiError(422, "invalid_cursor", str(exc)) from None
