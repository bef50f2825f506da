"""The reference HTTP API (FastAPI over psycopg with a connection pool).

``app`` reads its database from ``REFERENCE_API_DSN`` when it starts (``python -m
reference_impl.api --host 127.0.0.1 --port 8000``, or any ASGI server); :func:`create_app` builds
one bound to a given :class:`ApiDatabase`, which is how the API suite runs it in-process. The
endpoints, the token format and how to seed tenants for a load run are in README.md here.
"""

from reference_impl.api.app import MAX_BODY_BYTES, create_app
from reference_impl.api.session import ApiDatabase

__all__ = ["MAX_BODY_BYTES", "ApiDatabase", "app", "create_app"]

app = create_app()
