"""Liveness: no token, no database, the cheapest answer the server can give."""

from fastapi import APIRouter

from reference_impl.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, operation_id="health")
def health() -> dict:
    return {"status": "ok"}
