"""Realistic traffic over many tenants of the reference API (locust, FastHttpUser).

Tenants and their tokens are prepared before the run (``LOADTEST_TENANTS`` names a JSON file of
``{workspace_id, token, class}``): a few **large** tenants whose users hammer the API without
pause (the noisy neighbours) and many **small** ones that browse at a human pace. Every request
is named ``"<METHOD> <path template> [<class>]"`` so thresholds apply per endpoint and per class.

Traffic: list and filter work items (keyset pages), open one, create, update with its version
(a 409 on a stale version is a correct answer, not an error), and walk an item's lifecycle.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path

from locust import FastHttpUser, between, constant, task

TENANTS = json.loads(Path(os.environ["LOADTEST_TENANTS"]).read_text(encoding="utf-8"))
LARGE = [t for t in TENANTS if t["class"] == "large"]
SMALL = [t for t in TENANTS if t["class"] == "small"]


class _TenantUser(FastHttpUser):
    abstract = True
    klass = "small"
    pool: list[dict] = []

    def on_start(self) -> None:
        tenant = random.choice(self.pool)
        self.headers = {"Authorization": f"Bearer {tenant['token']}",
                        "X-Correlation-Id": f"load-{uuid.uuid4().hex[:12]}"}
        self.items: list[dict] = []

    def _name(self, endpoint: str) -> str:
        return f"{endpoint} [{self.klass}]"

    def _remember(self, response) -> None:
        try:
            body = response.json()
        except Exception:
            return
        items = body.get("items") if isinstance(body, dict) and "items" in body else [body]
        for item in items or []:
            if isinstance(item, dict) and "work_item_id" in item:
                self.items.append({"id": item["work_item_id"], "version": item["version"]})
        del self.items[:-50]

    @task(6)
    def list_items(self) -> None:
        with self.client.get("/v1/work-items?limit=20", headers=self.headers,
                             name=self._name("GET /v1/work-items"), catch_response=True) as r:
            if r.status_code == 200:
                self._remember(r)
                r.success()
            else:
                r.failure(f"{r.status_code}")

    @task(3)
    def filter_items(self) -> None:
        status = random.choice(["draft", "active", "done"])
        self.client.get(f"/v1/work-items?status={status}&sort=-priority&limit=20",
                        headers=self.headers, name=self._name("GET /v1/work-items?status"))

    @task(1)
    def open_item(self) -> None:
        if self.items:
            item = random.choice(self.items)
            self.client.get(f"/v1/work-items/{item['id']}", headers=self.headers,
                            name=self._name("GET /v1/work-items/{id}"))

    @task(2)
    def create_item(self) -> None:
        with self.client.post("/v1/work-items", json={"title": f"load {uuid.uuid4().hex[:8]}",
                                                      "priority": random.randint(1, 4)},
                              headers=self.headers, name=self._name("POST /v1/work-items"),
                              catch_response=True) as r:
            if r.status_code == 201:
                self._remember(r)
                r.success()
            else:
                r.failure(f"{r.status_code}")

    @task(2)
    def update_item(self) -> None:
        if not self.items:
            return
        item = self.items.pop(random.randrange(len(self.items)))
        with self.client.patch(f"/v1/work-items/{item['id']}",
                               json={"version": item["version"], "title": f"edited {uuid.uuid4().hex[:6]}"},
                               headers=self.headers, name=self._name("PATCH /v1/work-items/{id}"),
                               catch_response=True) as r:
            if r.status_code == 200:
                self._remember(r)
                r.success()
            elif r.status_code == 409:
                r.success()  # another user won the race: optimistic concurrency working
            else:
                r.failure(f"{r.status_code}")


class LargeTenantUser(_TenantUser):
    """A noisy neighbour: no think time."""

    klass = "large"
    pool = LARGE
    wait_time = constant(0)
    fixed_count = int(os.environ.get("LOADTEST_LARGE_USERS", "4"))


class SmallTenantUser(_TenantUser):
    klass = "small"
    pool = SMALL
    wait_time = between(0.2, 1.0)
