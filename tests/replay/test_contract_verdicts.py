"""The envelope compatibility checker: value constraints that narrow are breaking changes, and
any catalog, however malformed, gets findings instead of an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.replay.contracts import compatibility_findings, envelope_findings, incompatibilities

OLD = {"type": "object", "properties": {
    "reference": {"type": "string", "maxLength": 64},
    "code": {"type": "string"},
    "amount": {"type": "integer", "minimum": 0, "maximum": 1000},
    "lines": {"type": "array", "items": {"type": "string"}, "maxItems": 10}}}


def changed(field: str, **constraint) -> dict:
    return {**OLD, "properties": {**OLD["properties"], field: {**OLD["properties"][field], **constraint}}}


@pytest.mark.parametrize(("new", "expect"), [
    (changed("code", pattern="^[A-Z]{3}$"), "pattern added"),
    (changed("code", format="uuid"), "format added"),
    (changed("reference", maxLength=16), "maxLength narrowed from 64 to 16"),
    (changed("reference", minLength=3), "minLength 3 added"),
    (changed("amount", minimum=1), "minimum narrowed from 0 to 1"),
    (changed("amount", maximum=100), "maximum narrowed from 1000 to 100"),
    (changed("lines", maxItems=2), "maxItems narrowed"),
    (changed("amount", multipleOf=5), "multipleOf added"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_narrowed_value_constraint_is_breaking(new, expect):
    assert any(expect in p for p in incompatibilities(OLD, new)), incompatibilities(OLD, new)


@pytest.mark.parametrize("new", [changed("reference", maxLength=128), changed("amount", minimum=-5),
                                 changed("amount", maximum=5000), {**OLD}])
def test_a_widened_or_unchanged_constraint_is_compatible(new):
    assert incompatibilities(OLD, new) == []


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["type", "required", "properties", "items", "enum",
                                                             "const", "pattern", "maxLength", "minimum",
                                                             "additionalProperties", "version", "event_type",
                                                             "x"]), inner, max_size=5)),
    max_leaves=20)
catalogs = st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 2)),
                           st.one_of(json_values, st.dictionaries(st.one_of(st.integers(0, 3), st.text(max_size=2)),
                                                                  json_values, max_size=3)), max_size=3)


@settings(max_examples=150, deadline=None)
@given(catalog=catalogs)
def test_any_catalog_gets_findings_never_an_exception(catalog):
    """Schemas that are not objects, versions that are not numbers, required that is not a
    list, enums of any shape: the checks return findings (a verdict on the catalog)."""
    assert isinstance(compatibility_findings(catalog), list)
    assert isinstance(envelope_findings(catalog), list)


@settings(max_examples=100, deadline=None)
@given(old=json_values, new=json_values)
def test_any_pair_of_schemas_gets_a_verdict(old, new):
    assert isinstance(incompatibilities(old, new), list)
