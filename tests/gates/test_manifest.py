"""The manifest seals a packet: one changed byte in any file, a file added or a file removed is
found and named, by ``harness packet verify`` as by ``sha256sum -c``."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.gates.assemble import BuildRequest, build_packet
from harness.gates.manifest import MANIFEST, verify
from tests.gates.conftest import NOW
from tests.gates.test_assemble import fill


@pytest.fixture
def packet(catalog, results, tmp_path, target):
    fill(results)
    return build_packet(BuildRequest(catalog=catalog, gate_id="S03", results_dir=results.directory,
                                     out_root=tmp_path / "packets", target=target, allure=False,
                                     now=NOW)).directory


def _files(directory):
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_intact_packet_verifies(packet, capsys, catalog_file):
    assert verify(packet) == []
    assert main(["packet", "verify", str(packet), "--catalog", str(catalog_file)]) == 0
    assert "intact" in capsys.readouterr().out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_changed_byte_in_any_file_is_caught_and_named(packet, data):
    files = _files(packet)
    victim = data.draw(st.sampled_from(files))
    original = victim.read_bytes()
    position = data.draw(st.integers(0, max(0, len(original) - 1)))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(original or b"\0")
    changed[position] ^= flip
    victim.write_bytes(bytes(changed))
    try:
        problems = verify(packet)
        name = victim.relative_to(packet).as_posix()
        assert problems, name
        if name != MANIFEST:
            assert problems == [f"{name}: changed after the packet was written"]
        else:
            assert any(p.startswith(MANIFEST) or "changed" in p or "missing" in p for p in problems)
    finally:
        victim.write_bytes(original)
    assert verify(packet) == []


def test_every_file_is_covered(packet, capsys):
    """Exhaustively: each file of the packet, one byte changed, makes verify exit 1 naming it."""
    for victim in _files(packet):
        original = victim.read_bytes()
        victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        assert main(["packet", "verify", str(packet)]) == 1
        err = capsys.readouterr().err
        assert victim.relative_to(packet).as_posix() in err
        victim.write_bytes(original)


def test_added_and_removed_files_are_caught(packet):
    (packet / "evidence" / "extra.txt").write_text("slipped in later")
    assert verify(packet) == ["evidence/extra.txt: added after the packet was written (not in the manifest)"]
    (packet / "evidence" / "extra.txt").unlink()
    (packet / "packet.md").unlink()
    assert verify(packet) == ["packet.md: listed in the manifest but missing"]


def test_missing_manifest_means_nothing_can_be_trusted(packet):
    (packet / MANIFEST).unlink()
    assert verify(packet) == [f"{MANIFEST}: missing, so nothing in the packet can be trusted"]


def test_verify_of_a_directory_that_is_not_there_is_a_usage_error(tmp_path, capsys):
    assert main(["packet", "verify", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no packet directory there" in err


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum not installed")
def test_manifest_is_in_sha256sum_format(packet):
    done = subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST], cwd=packet, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
