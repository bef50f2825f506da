"""Known-bad variants of the reference implementation: proof that every family's suite bites.

Each folder ``<name>/`` holds a target spec (``target.yaml``) that ``extends:`` the reference
spec and changes only what makes it bad: one extra version directory (``versions/``) whose
migration, stacked on the reference head, makes one classic mistake, or an adapter from the
modules here (``adapters``, ``replay_adapters``, ...) that makes it in the data path. Each
family declares its variants, with the items each must fail, in its family object
(``harness/<family>/__init__.py``); ``tests/test_bite.py`` runs them all. Never point a real
deployment at these.
"""
