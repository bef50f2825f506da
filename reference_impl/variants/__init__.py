"""Known-bad variants of the reference implementation: proof that the isolation suite bites.

Each folder ``<name>/`` holds a target spec (``target.yaml``) that points at the reference
migrations plus one extra Alembic version directory (``versions/``) whose single migration,
stacked on the reference head ``0003``, breaks tenant isolation in one classic way. Adapter
variants live in :mod:`reference_impl.variants.adapters`. ``tests/isolation/test_suite_bites.py``
runs gate S03 against each and expects NO-GO on the right evidence item. Never point a real
deployment at these.
"""
