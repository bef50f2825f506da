"""Work items (F3-E1..E3): the core workflow's domain, its activity timeline and API tokens.

``models`` maps the tables of revision ``0006_work_items``; ``queries`` is the SQL data path the
HTTP API runs inside a request's bound transaction; ``operations`` is the adapter side (seeding
tenants and tokens, snapshots, plans) that the API suite drives through ``harness.api``.
"""
