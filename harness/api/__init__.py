"""The API suite (capability ``api``): contract fuzzing with tenant-aware checks, BOLA/IDOR
probes generated from the OpenAPI, and the work items' domain invariants through HTTP.

- :mod:`~harness.api.target`: the :class:`ApiTarget` Protocol, :class:`ApiTenant`, :class:`ApiFailure`;
- :mod:`~harness.api.checks`: schemathesis checks ``no_cross_tenant_data`` and ``auth_required``;
- :mod:`~harness.api.bola`: BOLA/IDOR probes from the published OpenAPI;
- :mod:`~harness.api.invariants`: lifecycle, concurrency, timeline, pagination, trace fields;
- :mod:`~harness.api.plans`: sequential scans in EXPLAIN plans;
- :mod:`~harness.api.server`: the spec's ASGI app under uvicorn on loopback, stopped by PID.
"""

from harness.api.target import CAPABILITY, ApiFailure, ApiTarget, ApiTenant, HttpClient

__all__ = ["CAPABILITY", "ApiFailure", "ApiTarget", "ApiTenant", "HttpClient"]
