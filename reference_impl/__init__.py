"""The reference data layer: the default target under test.

Alembic migrations (``migrations/``), SQLAlchemy models that match them (``models.py``), the
adapter the behavioural scenarios call (``adapter.py``). It imports nothing from ``harness``
except the adapter protocol it implements.
"""
