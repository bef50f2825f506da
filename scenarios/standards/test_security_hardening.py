"""Security hardening of the beta gate: bypasses, object creation, search_path, extensions."""

from __future__ import annotations

import pytest

from harness.standards import require_clean
from harness.standards.hardening import hardening_findings


@pytest.mark.evidence("S10.security-hardening", story="F8-E1-S2")
def test_no_bypass_no_foreign_objects_no_mutable_search_path(owner_conn, app_conn, harness_target):
    """The app role cannot bypass RLS (role, views, SECURITY DEFINER functions, PUBLIC grants),
    cannot create objects in the application schemas (its CREATE TABLE fails with 42501), every
    SECURITY DEFINER function pins search_path, only allowed extensions are installed, and default
    privileges grant nothing to PUBLIC."""
    require_clean(hardening_findings(owner_conn, app_conn, harness_target), "security hardening")
