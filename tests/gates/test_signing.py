"""Defect 4: a packet edited from NO-GO to GO with a re-computed manifest passed ``verify``.
Packets are now signed with a real SSH key (``ssh-keygen -Y sign``) and verified against an
``allowed_signers`` file; an unsigned packet says so on its first screen and in ``harness gates``;
the digest of the results a packet was built from is sealed in it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.gates.manifest import write_manifest
from tests.gates.test_assemble import fill

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen")


@pytest.fixture
def workdir(tmp_path, monkeypatch, catalog_file):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    return tmp_path


def _key(folder: Path, name: str) -> tuple[Path, Path]:
    """A fresh ed25519 key and an allowed_signers file trusting it, as for git."""
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example", "-f", str(key)],
                   check=True, capture_output=True)
    allowed = folder / f"{name}.allowed_signers"
    allowed.write_text(f"{name}@example {(folder / f'{name}.pub').read_text().strip()}\n")
    return key, allowed


@pytest.fixture
def packet(workdir, results) -> Path:
    fill(results)
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure", "-q"]) == 1
    return workdir / "reports/packets/S03"


def _forge_go(directory: Path) -> None:
    """What an attacker with write access does: NO-GO to GO, then a fresh manifest."""
    data = json.loads((directory / "packet.json").read_text())
    data["decision"] = "GO"
    (directory / "packet.json").write_text(json.dumps(data))
    write_manifest(directory)


def test_an_unsigned_packet_says_so_everywhere(packet, capsys):
    assert 'data-signed="false"' in (packet / "index.html").read_text()
    head = (packet / "index.html").read_text().split('<section id="waivers">')[0]
    assert "Unsigned packet" in head
    assert "**Unsigned packet**" in (packet / "packet.md").read_text().split("### Evidence items")[0]
    assert json.loads((packet / "packet.json").read_text())["signature"]["signed"] is False
    capsys.readouterr()
    assert main(["packet", "verify", str(packet)]) == 0
    assert "UNSIGNED" in capsys.readouterr().out
    assert main(["gates"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "S03" in line and "NO-GO" in line)
    assert "UNSIGNED" in row


def test_a_forged_go_passes_the_manifest_but_not_the_signature(packet, workdir, capsys):
    key, allowed = _key(workdir, "lead")
    assert main(["packet", "sign", str(packet), "--key", str(key)]) == 0
    assert (packet / "MANIFEST.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    assert main(["packet", "verify", str(packet), "--allowed-signers", str(allowed)]) == 0
    data = json.loads((packet / "packet.json").read_text())
    assert data["signature"]["signed"] is True and data["signature"]["key"].startswith("SHA256:")
    assert 'data-signed="true"' in (packet / "index.html").read_text()
    capsys.readouterr()
    assert main(["gates"]) == 0
    assert "signed" in next(line for line in capsys.readouterr().out.splitlines() if "S03" in line and "NO-GO" in line)

    _forge_go(packet)
    assert main(["packet", "verify", str(packet)]) == 1     # a broken signature is never intact
    assert "MANIFEST.sig does not match MANIFEST.sha256" in capsys.readouterr().err
    assert main(["packet", "verify", str(packet), "--allowed-signers", str(allowed)]) == 1
    assert "MANIFEST.sig: does not match MANIFEST.sha256" in capsys.readouterr().err
    (packet / "MANIFEST.sig").unlink()
    assert main(["packet", "verify", str(packet), "--allowed-signers", str(allowed)]) == 1
    assert "the packet is unsigned" in capsys.readouterr().err


def test_a_key_that_is_not_allowed_is_refused(packet, workdir, capsys):
    key, _ = _key(workdir, "intruder")
    _, allowed = _key(workdir, "lead")
    assert main(["packet", "sign", str(packet), "--key", str(key)]) == 0
    capsys.readouterr()
    assert main(["packet", "verify", str(packet), "--allowed-signers", str(allowed)]) == 1
    assert "made by a key that is not in" in capsys.readouterr().err


def test_a_changed_packet_is_never_signed(packet, workdir, capsys):
    key, _ = _key(workdir, "lead")
    with (packet / "packet.md").open("a") as handle:
        handle.write("edited\n")
    assert main(["packet", "sign", str(packet), "--key", str(key)]) == 2
    assert "the packet is not intact" in capsys.readouterr().err
    assert not (packet / "MANIFEST.sig").exists()


def test_the_results_digest_is_sealed(packet, results):
    data = json.loads((packet / "packet.json").read_text())
    (shard,) = data["shards"]
    files = sorted(p for p in results.directory.iterdir() if p.is_file())
    assert shard["files"] == len(files)
    expected = hashlib.sha256("".join(
        f"{p.name}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in files).encode()).hexdigest()
    assert shard["results_sha256"] == expected
    seal = (packet / "results.sha256").read_text().splitlines()
    assert len(seal) == len(files)
    assert f"{hashlib.sha256(files[0].read_bytes()).hexdigest()}  {shard['results']}/{files[0].name}" in seal
    assert "results.sha256" in (packet / "MANIFEST.sha256").read_text()
