"""The suites' data ships inside the package (``harness.data.path``); HARNESS_DATA_DIR overrides
it file by file."""

from __future__ import annotations

import harness
from harness import data

# every data file a suite reads, by the path the suite asks for
USED = ["replay/consumer_stream.yaml", "replay/billing_stream.yaml", "retrieval/eval_set.yaml",
        "retrieval/profile.yaml", "retrieval/near_duplicates.yaml", "agent_runs/outputs.yaml",
        "ingestion/documents.yaml", "counters/profiles.yaml", "recovery/profiles.yaml",
        "rehearsal/profiles.yaml", "analytics/events.yaml", "loadtests/slo.yaml",
        "loadtests/locustfile.py", "seeds/reference.yaml"]


def test_every_file_the_suites_read_is_inside_the_package(monkeypatch):
    monkeypatch.delenv(data.ENV, raising=False)
    package = data.path("").resolve()
    for relative in USED:
        path = data.path(relative)
        assert path.is_file(), relative
        assert str(path).startswith(str(harness.__path__[0])), path  # found through the package
    assert package.is_dir()


def test_the_users_folder_replaces_a_file_it_holds_and_falls_back_for_the_rest(tmp_path, monkeypatch):
    (tmp_path / "recovery").mkdir()
    (tmp_path / "recovery" / "profiles.yaml").write_text("ci: {}\n")
    monkeypatch.setenv(data.ENV, str(tmp_path))
    assert data.path("recovery/profiles.yaml") == tmp_path / "recovery" / "profiles.yaml"
    assert data.path("rehearsal/profiles.yaml").is_file()
    assert tmp_path not in data.path("rehearsal/profiles.yaml").parents


def test_every_familys_profile_is_found_inside_the_package(monkeypatch):
    from harness.families import families

    monkeypatch.delenv(data.ENV, raising=False)
    for family in families():
        if family.profile is not None:   # "fixtures/counters/profiles.yaml", "loadtests/slo.yaml"
            path = data.path(family.profile)
            assert path.is_file() and str(path).startswith(harness.__path__[0]), family.profile


def _spec_with_data_dir(tmp_path, data_dir="my-data"):
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "migrations" / "0001_x.sql").write_text("select 1;\n")
    spec = tmp_path / "target.yaml"
    spec.write_text(f"name: mine\nmigrations: {{tool: sql, location: migrations}}\napp_role: app_user\n"
                    f"data_dir: {data_dir}\n")
    return spec


def _broken_recovery_profiles(folder):
    (folder / "recovery").mkdir(parents=True)
    (folder / "recovery" / "profiles.yaml").write_text("ci: {not_a_key: 1}\n")


def test_the_specs_data_dir_resolves_next_to_it_and_the_environment_wins(tmp_path, monkeypatch):
    from harness.target import load_target

    mine, env = tmp_path / "my-data", tmp_path / "env-data"
    for folder in (mine, env):
        (folder / "recovery").mkdir(parents=True)
        (folder / "recovery" / "profiles.yaml").write_text("ci: {}\n")
    spec = load_target(_spec_with_data_dir(tmp_path))
    assert spec.data_dir == mine
    monkeypatch.delenv(data.ENV, raising=False)
    try:
        data.use_spec_data(spec.data_dir)
        assert data.path("recovery/profiles.yaml") == mine / "recovery" / "profiles.yaml"
        assert str(data.path("rehearsal/profiles.yaml")).startswith(harness.__path__[0])  # falls back
        monkeypatch.setenv(data.ENV, str(env))
        assert data.path("recovery/profiles.yaml") == env / "recovery" / "profiles.yaml"
    finally:
        data.use_spec_data(None)


def test_the_gate_reads_the_profiles_of_the_specs_data_dir_unless_the_environment_names_another(
        tmp_path, monkeypatch, capsys):
    """A broken profile in the spec's folder is refused before any suite runs (so the gate read
    it); with HARNESS_DATA_DIR naming a folder, that folder's copy is the one read."""
    from harness.cli import main

    spec = _spec_with_data_dir(tmp_path)
    _broken_recovery_profiles(tmp_path / "my-data")
    monkeypatch.delenv(data.ENV, raising=False)
    try:
        assert main(["gate", "S11", "--target", str(spec), "--out", str(tmp_path / "packets")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(tmp_path / "my-data" / "recovery") in err, err
        _broken_recovery_profiles(tmp_path / "env-data")
        monkeypatch.setenv(data.ENV, str(tmp_path / "env-data"))
        assert main(["gate", "S11", "--target", str(spec), "--out", str(tmp_path / "packets")]) == 2
        assert str(tmp_path / "env-data" / "recovery") in capsys.readouterr().err
        assert not (tmp_path / "packets").exists()
    finally:
        data.use_spec_data(None)


def test_a_data_dir_that_is_not_there_is_one_line_naming_file_field_and_fix(tmp_path, capsys):
    from harness.cli import main

    spec = _spec_with_data_dir(tmp_path, "no-such-folder")
    assert main(["gate", "S03", "--target", str(spec), "--out", str(tmp_path / "packets")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{spec}: data_dir: 'no-such-folder' is not a folder" in err and "(fix: create it" in err
    assert not (tmp_path / "packets").exists()
