"""Why NO-GO names each cause by its kind: a gap in the target's adapter or configuration is
told apart from a failure of the target and from an error in harness code."""

from __future__ import annotations

import pytest

from harness.gates.causes import (
    ADAPTER_GAP,
    CONFIGURATION_GAP,
    HARNESS_ERROR,
    TARGET_FAILURE,
    gap_kind,
)


@pytest.mark.parametrize(("message", "kind"), [
    ("harness.capabilities.UndeclaredCapability: target.yaml: unsupported.webhooks: adapter A lacks "
     "the 'webhooks' capability (Webhooks): missing receive, and the spec does not declare it", ADAPTER_GAP),
    ("harness.capabilities.CapabilityMissing: target basejump names no adapter, so the 'memberships' "
     "checks cannot run", ADAPTER_GAP),
    ("harness.tenancy.BindingError: the binding needs {user_id}, which the harness cannot make on its "
     "own: give the target adapter a create_tenant(label) -> Principal", ADAPTER_GAP),
    ("NotImplementedError: consume", ADAPTER_GAP),
    ("harness.errors.ConfigError: target.yaml: database.dsn: is empty (fix: set HARNESS_DSN)", CONFIGURATION_GAP),
    ("harness.errors.BackendUnavailable: docker: no engine reachable", CONFIGURATION_GAP),
    ("harness.capabilities.CapabilityMissing: the spec declares no seed data (standards.seeds)", CONFIGURATION_GAP),
    ("RuntimeError: could not seed the workspace", HARNESS_ERROR),
])
def test_an_error_is_named_by_what_it_says_about_the_target(message, kind):
    assert gap_kind(message, HARNESS_ERROR) == kind


def test_a_plain_assertion_stays_a_failure_of_the_target():
    assert gap_kind("AssertionError: workspace B read 3 rows of workspace A", TARGET_FAILURE) == TARGET_FAILURE
