"""``extends:``: a spec written as its changes to another, merged as a JSON merge patch, with
relative paths resolved next to the file that names them and loops refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.extends import merge_patch
from harness.target import load_target
from harness.template_cache import template_key

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ROOT / "reference_impl" / "variants"


def test_merge_patch_merges_mappings_replaces_the_rest_and_null_removes():
    below = {"a": {"x": 1, "y": [1, 2]}, "b": "keep", "c": "drop"}
    assert merge_patch(below, {"a": {"y": [3]}, "c": None, "d": 4}) == \
        {"a": {"x": 1, "y": [3]}, "b": "keep", "d": 4}
    assert below["a"]["y"] == [1, 2]   # the file below is not changed


def test_a_variant_is_the_reference_plus_its_mistake():
    reference = load_target(ROOT / "target.yaml", backend="embedded")
    variant = load_target(VARIANTS / "using-true" / "target.yaml", backend="embedded")
    assert variant.name == "reference-using-true" and variant.extends == (ROOT / "target.yaml",)
    # the reference's paths resolve next to the reference, the variant's next to the variant
    assert variant.migrations.script_location == reference.migrations.script_location
    assert variant.migrations.version_locations == (VARIANTS / "using-true" / "versions",)
    assert variant.standards.seeds == reference.standards.seeds
    assert (variant.adapter, variant.tenancy, variant.app_role, variant.binding) == \
        (reference.adapter, reference.tenancy, reference.app_role, reference.binding)


def test_relative_paths_follow_the_file_that_names_them_through_a_chain(tmp_path):
    base, middle, top = tmp_path / "base", tmp_path / "a" / "middle", tmp_path / "a" / "b" / "top"
    for folder in (base / "suite", middle / "more", top):
        folder.mkdir(parents=True)
    (base / "target.yaml").write_text(
        f"name: base\napp_role: app_user\nsuites: [suite]\n"
        f"migrations:\n  script_location: {ROOT / 'reference_impl/migrations'}\n"
        "tenancy: {column: workspace_id, global_tables: {users: everyone's}}\n")
    (middle / "target.yaml").write_text(
        "extends: ../../base/target.yaml\nname: middle\nmigrations: {version_locations: [more]}\n"
        "tenancy: {global_tables: {plans: one price list}}\n")
    (top / "target.yaml").write_text("extends: ../../middle/target.yaml\nname: top\ntenancy: {column: account_id}\n")
    spec = load_target(top / "target.yaml", backend="embedded")
    assert spec.name == "top" and spec.suites == (base / "suite",)
    assert spec.migrations.version_locations == (middle / "more",)
    assert spec.tenancy.column == "account_id"
    assert spec.tenancy.global_tables == {"users": "everyone's", "plans": "one price list"}
    assert spec.extends == (middle / "target.yaml", base / "target.yaml")


def test_a_change_in_an_extended_file_changes_the_template_key(tmp_path):
    (tmp_path / "base.yaml").write_text((ROOT / "target.yaml").read_text().replace(
        "script_location: reference_impl/migrations", f"script_location: {ROOT / 'reference_impl/migrations'}")
        .replace("seeds: [fixtures/seeds/reference.yaml]", "seeds: []"))
    (tmp_path / "target.yaml").write_text("extends: base.yaml\nname: child\n")
    before = template_key(load_target(tmp_path / "target.yaml", backend="embedded"), "build")
    (tmp_path / "base.yaml").write_text((tmp_path / "base.yaml").read_text().replace(
        "app_role: app_user", "app_role: app_user2"))
    assert template_key(load_target(tmp_path / "target.yaml", backend="embedded"), "build") != before


@pytest.mark.parametrize(("files", "says"), [
    ({"target.yaml": "extends: target.yaml\nname: t\n"}, "comes back to a file already in the chain"),
    ({"target.yaml": "extends: b.yaml\nname: t\n", "b.yaml": "extends: target.yaml\nname: b\n"},
     "comes back to a file already in the chain"),
    ({"target.yaml": "extends: nowhere.yaml\nname: t\n"}, "is not a file"),
    ({"target.yaml": "extends: [a, b]\nname: t\n"}, "must name a spec file"),
])
def test_a_bad_extends_names_the_file_and_the_field(tmp_path, files, says):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as err:
        load_target(tmp_path / "target.yaml", backend="embedded")
    assert err.value.field == "extends" and says in err.value.problem, err.value
    assert err.value.fix
