"""KNOWN-BAD API variants for the load suite (served by uvicorn through the variant's spec).

``slow_list_app``: the reference API whose list endpoint takes 1.6 s more per request (think of
an N+1 query or a lost index on the hot path). Expected: the ``GET /v1/work-items`` SLOs fail,
so S11.load-slo, S04.query-performance-baseline and S05.query-latency are NO-GO.

``tenfold_list_app``: the list endpoint ten times slower than the reference on the same machine
(each list request waits nine times its own handling time after it): the size of regression a
lost index or an N+1 query causes, which the ci ceilings (~3x the reference) must catch.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI, Request

from reference_impl.api.app import create_app

DELAY_S = 1.6


def _slow_list(app: FastAPI) -> FastAPI:
    @app.middleware("http")
    async def slow_list(request: Request, call_next):
        if request.method == "GET" and request.url.path == "/v1/work-items":
            await asyncio.sleep(DELAY_S)
        return await call_next(request)

    return app


slow_list_app = _slow_list(create_app())


def _tenfold_list(app: FastAPI) -> FastAPI:
    @app.middleware("http")
    async def tenfold_list(request: Request, call_next):
        if request.method != "GET" or request.url.path != "/v1/work-items":
            return await call_next(request)
        started = time.perf_counter()
        response = await call_next(request)
        await asyncio.sleep(9 * (time.perf_counter() - started))
        return response

    return app


tenfold_list_app = _tenfold_list(create_app())
