"""What every request gets before any route runs: a correlation id, a body size limit, and errors
in one JSON shape.

- **Correlation id.** Taken from a W3C ``traceparent`` header (its trace id), else from
  ``X-Correlation-Id`` (letters, digits and ``._:-``, at most 128), else made up; stored in the
  ASGI scope's state for the route and echoed as the ``X-Correlation-Id`` response header, so a
  write can be followed from the request to its timeline row.
- **Body size.** A request whose body is larger than the limit gets a 413 before the route
  reads it (``Content-Length`` checked up front, chunked bodies counted as they arrive).
- **Errors.** :class:`ApiError` and every error FastAPI raises become
  ``{"error": {"code", "message", "correlation_id", ...}}`` (:class:`~.schemas.ErrorBody`).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ApiError", "RequestEnvelope", "correlation_id_of", "install_error_handlers"]

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "body_too_large",
              415: "unsupported_media_type", 422: "invalid_request", 503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def correlation_from_headers(headers: dict[bytes, bytes]) -> str:
    trace = TRACEPARENT.match(headers.get(b"traceparent", b"").decode("latin-1").strip().lower())
    if trace and trace.group(1) != "0" * 32:
        return trace.group(1)
    given = headers.get(b"x-correlation-id", b"").decode("latin-1").strip()
    return given if CORRELATION.match(given) else uuid.uuid4().hex


def correlation_id_of(request: Request) -> str:
    return request.scope.get("state", {}).get("correlation_id") or uuid.uuid4().hex


class _TooLarge(Exception):
    pass


class RequestEnvelope:
    """Pure ASGI middleware (no per-request task switch): correlation id and body size limit."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        correlation_id = correlation_from_headers(headers)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body_bytes:
            await _send_error(send, 413 if declared.isdigit() else 400, correlation_id,
                              f"request bodies are limited to {self.max_body_bytes} bytes"
                              if declared.isdigit() else "Content-Length is not a number")
            return
        seen = 0

        async def counting_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                raise _TooLarge
            return message

        async def tagged_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        try:
            await self.app(scope, counting_receive, tagged_send)
        except _TooLarge:
            await _send_error(send, 413, correlation_id,
                              f"request bodies are limited to {self.max_body_bytes} bytes")


async def _send_error(send: Any, status: int, correlation_id: str, message: str) -> None:
    body = json.dumps({"error": {"code": HTTP_CODES[status], "message": message,
                                 "correlation_id": correlation_id}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-correlation-id", correlation_id.encode())]})
    await send({"type": "http.response.body", "body": body})


def error_response(request: Request, status: int, code: str, message: str,
                   **extra: Any) -> JSONResponse:
    detail = {"code": code, "message": message, "correlation_id": correlation_id_of(request),
              **{k: v for k, v in extra.items() if v is not None}}
    headers = {"WWW-Authenticate": 'Bearer realm="reference"'} if status == 401 else None
    return JSONResponse({"error": detail}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", ""),
                    "msg": e.get("msg", "")} for e in exc.errors()]
        return error_response(request, 422, "invalid_request", "the request does not match the "
                              "operation's schema", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error_response(request, exc.status_code, HTTP_CODES.get(exc.status_code, "error"),
                                  str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return response

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        # the cause goes to the server log only: a response never carries SQL, DSNs or stacks
        return error_response(request, 500, "internal_error", "the server failed; quote the "
                              "correlation id when reporting it")
