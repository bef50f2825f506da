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
