"""Item 4 and 6 of the second hostile pass: profiles were read without checks.

``workers: 0.5`` became 0 silently, ``rto_seconds: "fast"`` and ``tenants: -3`` were accepted, a
non-UTF-8 counters or rehearsal profile gave a traceback, ``default: [1]`` an AttributeError, and
``HARNESS_REPLAY_PROFILE=bogus`` ended in a NO-GO packet swapped over the last good one. Every
profile file now goes through one typed loader (:mod:`harness.profilefile`), and ``harness gate``
reads every profile before any suite runs (:mod:`harness.configcheck`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.configcheck import check_profiles, profile_files
from harness.errors import ConfigError
from tests.gates.conftest import REPO
from tests.gates.test_assemble import fill
from tests.hostile.conftest import one_line_error


def _copy_tree(root: Path) -> Path:
    """The suites' profile files, copied where a test may break them."""
    for entry in profile_files():
        (root / entry.relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / entry.relative, root / entry.relative)
    return root


def _break(root: Path, relative: str, old: str | bytes, new: str | bytes) -> Path:
    path = root / relative
    data = path.read_bytes()
    old_b = old.encode() if isinstance(old, str) else old
    assert old_b in data, f"{relative} no longer holds {old!r}"
    path.write_bytes(data.replace(old_b, new.encode() if isinstance(new, str) else new, 1))
    return path


ATTACKS = [
    # (file, text replaced, replacement, field named, words of the fix)
    ("loadtests/slo.yaml", "    workers: 0\n", "    workers: 0.5\n", "profiles.ci.workers", "whole number"),
    ("loadtests/slo.yaml", "users: 24", "users: 24\n    uesrs: 3", "profiles.ci.uesrs", "did you mean 'users'"),
    ("loadtests/slo.yaml", "max_error_ratio: 0.01, min_rps: 2",
     "max_error_ratio: 7, min_rps: 2", "max_error_ratio", "from 0 to 1"),
    ("fixtures/recovery/profiles.yaml", "rto_seconds: 60", 'rto_seconds: "fast"', "ci.rto_seconds",
     "number"),
    ("fixtures/recovery/profiles.yaml", "tenants: 3", "tenants: -3", "ci.tenants", "at least 1"),
    ("fixtures/recovery/profiles.yaml", "crash_writers: 4", "crash_writers: 4\n  rto_secs: 1",
     "ci.rto_secs", "did you mean 'rto_seconds'"),
    ("fixtures/counters/profiles.yaml", "race_repeats: 4", "race_repeats: 4  # caf\xe9",
     "byte", "UTF-8"),
    ("fixtures/counters/profiles.yaml", "throughput_seconds: 2", "throughput_seconds: true",
     "default.throughput_seconds", "whole number"),
    ("fixtures/rehearsal/profiles.yaml", "default: ci", "default: [1]", "default", "text"),
    ("fixtures/rehearsal/profiles.yaml", "rows: 60000", "rows: 60000  # \xff",
     "byte", "UTF-8"),
    ("fixtures/rehearsal/profiles.yaml", "workers: 3 ", "workers: 0.5 ", "profiles.ci.workers",
     "whole number"),
    # checked since the registry is read: the family declares it, no list in configcheck does
    ("fixtures/tenant_isolation/profiles.yaml", "property_examples: 25", "property_examples: 0",
     "default.property_examples", "positive integer"),
]


@pytest.mark.parametrize(("relative", "old", "new", "fld", "fix"), ATTACKS,
                         ids=[f"{a[0].split('/')[-1]}:{a[3]}:{a[2].strip()[:20]}" for a in ATTACKS])
def test_a_mistyped_profile_is_one_line_naming_file_field_and_fix(tmp_path, monkeypatch, relative, old,
                                                                   new, fld, fix):
    for name in ("HARNESS_LOAD_PROFILE", "HARNESS_RECOVERY_PROFILE", "HARNESS_COUNTERS_PROFILE",
                 "HARNESS_REHEARSAL_PROFILE", "HARNESS_REHEARSAL_PROFILES", "HARNESS_REPLAY_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    root = _copy_tree(tmp_path)
    assert check_profiles(root=root) >= 7        # the shipped files are sound
    if isinstance(new, str) and "\xe9" in new or "\xff" in new:
        old, new = old.encode(), new.encode("latin-1")
    path = _break(root, relative, old, new)
    entry = next(e for e in profile_files() if e.relative == relative)
    with pytest.raises(ConfigError) as caught:
        entry.load(path, None)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(str(path)), line
    assert fld in line and "(fix: " in line and fix in line, line
    with pytest.raises(ConfigError):             # and the run's check finds it before any suite
        check_profiles(root=root)


def test_a_familys_profile_is_checked_because_the_family_declares_it(tmp_path, monkeypatch):
    """The files come from the registry (``Family.profile`` and ``profile_loader``): a family
    registered beside the built-in ones gets its profile read before any suite runs, and one
    that declares no loader is not read."""
    from harness import configcheck
    from harness.families import Family, families
    from harness.isolation import IsolationFailure

    root = _copy_tree(tmp_path)
    declared = {(f.profile, f.profile_loader) for f in families() if f.profile and f.profile_loader}
    assert {(e.relative, e.loader) for e in profile_files()} == declared
    (root / "fixtures/tenth").mkdir(parents=True)
    (root / "fixtures/tenth/profiles.yaml").write_text("ci:\n  property_examples: 0\n")
    tenth = Family(name="tenth", package="harness.isolation", items=(), failure=IsolationFailure,
                   profile="fixtures/tenth/profiles.yaml",
                   profile_loader="harness.isolation.profile:load_profile")
    before = check_profiles(root=root)
    monkeypatch.setattr(configcheck, "families", lambda: (*families(), tenth))
    with pytest.raises(ConfigError, match=r"tenth/profiles.yaml.*ci.property_examples"):
        check_profiles(root=root)
    (root / "fixtures/tenth/profiles.yaml").write_text("default:\n  property_examples: 3\n"
                                                       "  property_budget_s: 1\n")
    assert check_profiles(root=root) == before + 1
    silent = Family(name="tenth", package="harness.isolation", items=(), failure=IsolationFailure,
                    profile="fixtures/tenth/profiles.yaml")
    monkeypatch.setattr(configcheck, "families", lambda: (*families(), silent))
    assert check_profiles(root=root) == before


def test_a_profile_variable_naming_no_profile_is_refused(tmp_path, monkeypatch):
    root = _copy_tree(tmp_path)
    for variable in ("HARNESS_LOAD_PROFILE", "HARNESS_RECOVERY_PROFILE", "HARNESS_COUNTERS_PROFILE",
                     "HARNESS_REHEARSAL_PROFILE", "HARNESS_REPLAY_PROFILE"):
        with monkeypatch.context() as patch:
            patch.setenv(variable, "bogus")
            with pytest.raises(ConfigError, match=rf"{variable}='bogus'.*fix: set {variable} to one of"):
                check_profiles(root=root)


def test_a_profile_variable_typo_never_replaces_the_last_packet(workdir, results, target_root, monkeypatch,
                                                                 capsys):
    """``HARNESS_REPLAY_PROFILE=bogus`` used to end in exit 1 and a NO-GO "error" packet swapped
    over the previous one: now exit 2 in one line, before any suite runs, the packet kept."""
    fill(results)
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03",
                 "--no-allure", "-q"]) == 1
    packet = workdir / "reports/packets/S03"
    before = {p.name: p.read_bytes() for p in packet.iterdir() if p.is_file()}
    capsys.readouterr()
    for variable, value in (("HARNESS_REPLAY_PROFILE", "bogus"), ("HARNESS_LOAD_PROFILE", "bogus"),
                            ("HARNESS_REHEARSAL_PROFILES", str(workdir / "no-such.yaml"))):
        with monkeypatch.context() as patch:
            patch.setenv(variable, value)
            assert main(["gate", "S03", "--target", str(target_root / "target.yaml"), "--no-allure"]) == 2
            assert variable in one_line_error(capsys)
    assert {p.name: p.read_bytes() for p in packet.iterdir() if p.is_file()} == before
    assert not (workdir / "reports/allure-results").exists()     # no suite ran


def test_a_large_plain_spec_is_not_an_alias_bomb_but_a_bomb_still_is(monkeypatch):
    """The bound counts what aliases add, not the document's own size (a smaller bound here
    keeps the test fast: the full-size file takes PyYAML half a minute to read)."""
    from harness import yamlfiles

    monkeypatch.setattr(yamlfiles, "MAX_NODES", 2_000)
    plain = "items:\n" + "".join(f"  - {{id: {i}, name: item-{i}}}\n" for i in range(1_000))
    assert len(yamlfiles.load_text(plain, "big.yaml")["items"]) == 1_000      # 5,000 values
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(3))
    with pytest.raises(ConfigError, match="alias bomb"):
        yamlfiles.load_text(bomb, "bomb.yaml")                                # 11,110 by aliases
