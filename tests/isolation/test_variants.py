"""The known-bad variants load as targets, and migrations.version_locations stacks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.migrations import script_heads
from harness.target import load_target
from reference_impl.schema_head import HEAD

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ROOT / "reference_impl" / "variants"
# the tenant isolation suite's own migration variants (other families keep theirs apart)
MIGRATION_VARIANTS = ["app-role-bypassrls", "missing-delete-policy", "rls-not-forced",
                      "table-without-workspace-id", "using-true", "view-without-security-invoker"]


def test_there_is_a_variant_for_each_classic_mistake():
    present = {p.parent.name for p in VARIANTS.glob("*/versions")}
    assert set(MIGRATION_VARIANTS) <= present, sorted(set(MIGRATION_VARIANTS) - present)


@pytest.mark.parametrize("name", MIGRATION_VARIANTS)
def test_each_variant_is_one_migration_on_the_reference_head(name):
    spec = load_target(VARIANTS / name / "target.yaml", backend="embedded")
    assert spec.migrations.script_location == ROOT / "reference_impl" / "migrations"
    assert spec.migrations.version_locations == (VARIANTS / name / "versions",)
    (migration,) = (VARIANTS / name / "versions").glob("*.py")
    heads = script_heads(spec)
    assert heads == (migration.stem,) and len(heads[0]) <= 32  # alembic_version is varchar(32)
    assert "down_revision = HEAD" in migration.read_text()


def test_the_reference_alone_still_has_its_own_head():
    assert script_heads(load_target(ROOT / "target.yaml", backend="embedded")) == (HEAD,)


@pytest.mark.parametrize(("value", "field", "says"), [
    ("nowhere", "migrations.version_locations", "must be a list"),
    ("[nowhere]", "migrations.version_locations[0]", "is not a folder"),
])
def test_bad_version_locations_name_the_field(tmp_path, value, field, says):
    spec = tmp_path / "target.yaml"
    spec.write_text(f"name: t\nmigrations:\n  script_location: {ROOT / 'reference_impl/migrations'}\n"
                    f"  version_locations: {value}\n")
    with pytest.raises(ConfigError) as err:
        load_target(spec, backend="embedded")
    assert err.value.field == field and says in err.value.problem
