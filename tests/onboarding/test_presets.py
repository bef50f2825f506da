"""Presets: data in the package, merged under the spec key by key, and TODO reasons refused."""

from __future__ import annotations

import textwrap

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.presets import folder, load_preset, preset_names
from harness.target import load_target


def _spec(tmp_path, body: str):
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "migrations" / "20240101000000_init.sql").write_text("select 1;\n")
    path = tmp_path / "target.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_the_presets_ship_as_readable_package_data():
    assert {"supabase", "tenant-setting"} <= set(preset_names())
    assert (folder() / "supabase.yaml").read_text().startswith("# preset: supabase")
    stub = load_preset("supabase")["migrations"]["platform"][0]
    assert any(p.name.endswith("_supabase_platform.sql") for p in folder().joinpath("supabase").glob("*.sql"))
    assert stub == str(folder() / "supabase")


def test_preset_supabase_supplies_the_postgrest_binding_and_the_platform_stub(tmp_path):
    spec = load_target(_spec(tmp_path, """\
        name: mine
        preset: supabase
        migrations: {location: migrations}
        tenancy: {column: account_id, root: accounts}
        """))
    assert spec.migrations.tool == "sql"
    assert spec.app_role == "app_user"
    assert spec.binding.role == "authenticated"
    assert spec.binding.settings["request.jwt.claim.sub"] == "{user_id}"
    assert spec.migrations.version_locations == (folder() / "supabase",)


def test_every_key_of_a_preset_is_overridable_key_by_key(tmp_path):
    spec = load_target(_spec(tmp_path, """\
        name: mine
        preset: supabase
        app_role: api_login
        migrations: {location: migrations, platform: []}
        binding:
          settings: {request.jwt.claims: '{"sub": "{user_id}"}'}
        standards: {extensions: {vector: embeddings}}
        """))
    assert spec.app_role == "api_login"
    assert spec.migrations.version_locations == ()          # a project with its own stub
    assert spec.binding.role == "authenticated"             # kept from the preset
    assert spec.binding.settings == {"request.jwt.claims": '{"sub": "{user_id}"}'}  # replaced whole
    assert spec.standards.extensions == {"plpgsql": "procedural language", "vector": "embeddings"}


def test_preset_tenant_setting_binds_the_tenant_id_in_a_setting(tmp_path):
    spec = load_target(_spec(tmp_path, """\
        name: mine
        preset: tenant-setting
        migrations: {tool: sql, location: migrations}
        """))
    assert spec.binding.settings == {"app.tenant_id": "{tenant_id}"} and spec.binding.role is None
    assert spec.tenant_setting == "app.tenant_id"


def test_an_unknown_preset_names_the_file_the_field_and_the_presets(tmp_path, capsys):
    path = _spec(tmp_path, """\
        name: mine
        preset: supabse
        migrations: {tool: sql, location: migrations}
        app_role: app_user
        """)
    with pytest.raises(ConfigError) as caught:
        load_target(path)
    assert caught.value.field == "preset" and "supabase" in caught.value.fix
    assert main(["gate", "S03", "--target", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: preset: 'supabse' is not a preset" in err


@pytest.mark.parametrize("section, line, field", [
    ("tenancy", '  global_tables: {config: "TODO: why is this table the same for every tenant?"}',
     "tenancy.global_tables.config"),
    ("tenancy", '  security_definer_allowlist: {public.f: "TODO: why is this safe?"}',
     "tenancy.security_definer_allowlist.public.f"),
    ("unsupported", '  events: "todo confirm"', "unsupported.events"),
])
def test_the_gate_refuses_a_todo_reason_naming_file_field_and_fix(tmp_path, capsys, section, line, field):
    head = """\
        name: mine
        migrations: {tool: sql, location: migrations}
        app_role: app_user
        """
    body = textwrap.dedent(head) + (f"tenancy:\n  column: account_id\n{line}\n" if section == "tenancy"
                                    else f"unsupported:\n{line}\n")
    path = _spec(tmp_path, body)
    assert main(["gate", "S03", "--target", str(path), "--out", str(tmp_path / "packets")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: {field}: still says" in err and "(fix: replace the TODO with the reason" in err
    assert not (tmp_path / "packets").exists()
    # the same entry with its reason written is accepted: it was the TODO that was refused
    path.write_text(path.read_text().replace('"TODO: why is this safe?"', "pins search_path")
                    .replace('"TODO: why is this table the same for every tenant?"', "a price list")
                    .replace('"todo confirm"', "no events here"))
    load_target(path)


def test_a_spec_extending_one_with_a_preset_keeps_the_preset_under_both(tmp_path):
    base = _spec(tmp_path, """\
        name: mine
        preset: supabase
        migrations: {location: migrations}
        """)
    (tmp_path / "variant").mkdir()
    variant = tmp_path / "variant" / "target.yaml"
    variant.write_text("extends: ../target.yaml\nname: mine-variant\napp_role: other_login\n")
    spec = load_target(variant)
    assert (spec.name, spec.app_role, spec.binding.role) == ("mine-variant", "other_login", "authenticated")
    assert spec.migrations.script_location == base.parent / "migrations"
    assert spec.migrations.version_locations == (folder() / "supabase",)


def test_a_specs_own_version_locations_run_after_the_presets_platform_not_instead(tmp_path):
    """basejump's variants add a folder of their own: the preset's platform still runs first;
    only `platform: []` drops it."""
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "20240601000000_more.sql").write_text("select 1;\n")
    added = load_target(_spec(tmp_path, """\
        name: mine
        preset: supabase
        migrations: {location: migrations, version_locations: [more]}
        """))
    assert added.migrations.version_locations == (folder() / "supabase", tmp_path / "more")
    (tmp_path / "variant").mkdir()
    (tmp_path / "variant" / "extra").mkdir()
    (tmp_path / "variant" / "extra" / "20240701000000_extra.sql").write_text("select 1;\n")
    variant = tmp_path / "variant" / "target.yaml"
    variant.write_text("extends: ../target.yaml\nname: mine-variant\nmigrations: {version_locations: [extra]}\n")
    assert load_target(variant).migrations.version_locations == (folder() / "supabase",
                                                                 tmp_path / "variant" / "extra")
    (tmp_path / "target.yaml").write_text((tmp_path / "target.yaml").read_text()
                                          .replace("version_locations: [more]", "platform: [], version_locations: [more]"))
    assert load_target(tmp_path / "target.yaml").migrations.version_locations == (tmp_path / "more",)
