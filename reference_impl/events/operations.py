"""The reference's replay-safe operations, as one base class of the reference adapter.

:class:`EventsOperations` gathers the consumer and its dead letters
(:mod:`~reference_impl.events.consumer`), automation runs (:mod:`~reference_impl.events.automation`),
webhooks and the subscription mirror (:mod:`~reference_impl.events.webhooks`) and connector
credentials (:mod:`~reference_impl.events.credentials`): together they implement the
``events``, ``automation-runs``, ``webhooks``, ``billing-mirror`` and ``connector-credentials``
capabilities of :mod:`harness.replay.capability`. Each uses ``self.db`` and ``self.setting``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from reference_impl.events import catalog
from reference_impl.events.automation import AutomationOperations
from reference_impl.events.consumer import ConsumerOperations
from reference_impl.events.credentials import CredentialOperations
from reference_impl.events.webhooks import WebhookOperations


class EventsOperations(ConsumerOperations, AutomationOperations, WebhookOperations,
                       CredentialOperations):
    # seeding hints for the isolation suite: checks its row factory cannot guess
    ROW_OVERRIDES = {
        "connector_credentials": {"status": "active",
                                  "secret_ref": lambda: f"secretref://{uuid.uuid4()}"},
        "events": {"event_type": "work_item.created"},
    }

    def event_schemas(self) -> Mapping[str, Mapping[int, Mapping[str, Any]]]:
        return catalog.event_schemas()
