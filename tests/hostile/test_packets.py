"""Items 1 and 2 of the second hostile pass: packets that could be passed off.

1. A signed GO packet of one gate copied into another gate's folder verified (exit 0 with
   ``--allowed-signers``) and ``harness gates`` listed it "GO intact signed" for the wrong gate;
   a packet judged by a laxer catalog passed as well.
2. A NO-GO packet flipped to GO, its manifest re-computed and its old ``MANIFEST.sig`` kept,
   verified without ``--allowed-signers`` (exit 0, "intact") and ``harness gates`` showed GO.

The manifest now binds gate, target, catalog rules and results digest (its ``#`` lines, under
the signature); ``packet verify`` and ``harness gates`` refuse a packet whose folder, gate or
catalog differ, and a signature that does not match is exit 1 with or without a signers file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.gates.manifest import write_manifest
from tests.gates.conftest import SMALL_CATALOG, write
from tests.gates.test_assemble import fill

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen")


def _key(folder: Path, name: str) -> tuple[Path, Path]:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example", "-f", str(key)],
                   check=True, capture_output=True)
    allowed = folder / f"{name}.allowed_signers"
    allowed.write_text(f"{name}@example {(folder / f'{name}.pub').read_text().strip()}\n")
    return key, allowed


def _go_packet_of_s04(results, out: str = "reports/packets", catalog: Path | None = None) -> Path:
    results.add("test_invariant", evidence=("S04.domain-invariants",))
    extra = ["--catalog", str(catalog)] if catalog is not None else []
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S04", "--no-allure",
                 "-q", "--out", out, *extra]) == 0
    return Path(out) / "S04"


def _row(out: str, gate: str) -> str:
    return next(line for line in out.splitlines() if line.lstrip("│┃ ").startswith(gate))


def test_a_signed_go_packet_copied_into_another_gates_folder_is_refused(workdir, results, capsys):
    key, allowed = _key(workdir, "lead")
    s04 = _go_packet_of_s04(results)
    assert main(["packet", "sign", str(s04), "--key", str(key)]) == 0
    assert main(["packet", "verify", str(s04), "--allowed-signers", str(allowed)]) == 0
    s03 = workdir / "reports/packets/S03"
    shutil.copytree(s04, s03)                         # the attack: S04's GO passed off as S03's
    capsys.readouterr()
    assert main(["packet", "verify", str(s03), "--allowed-signers", str(allowed)]) == 1
    err = capsys.readouterr().err
    assert "the packet is S04's but sits in the folder 'S03'" in err, err
    assert main(["packet", "verify", str(s03)]) == 1
    (s03 / "MANIFEST.sig").unlink()
    capsys.readouterr()
    assert main(["packet", "sign", str(s03), "--key", str(key)]) == 2    # never signed where it lies
    assert "sits in the folder 'S03'" in capsys.readouterr().err
    shutil.copy(s04 / "MANIFEST.sig", s03 / "MANIFEST.sig")
    assert main(["gates"]) == 1
    out = capsys.readouterr().out
    assert "CHANGED" in _row(out, "S03") and "intact" in _row(out, "S04"), out
    assert "S03: " in out and "sits in the folder 'S03'" in out


def test_a_packet_judged_by_a_laxer_catalog_is_refused(workdir, results, capsys):
    """A catalog where S03 asks for one test only: its GO is not a GO under the real rules."""
    lax = write(workdir / "lax" / "gates.yaml", SMALL_CATALOG.replace(
        "      - id: S04.domain-invariants\n        kind: test\n",
        "      - id: S04.domain-invariants\n        kind: test\n        waivable: false\n"))
    s04 = _go_packet_of_s04(results, catalog=lax)
    capsys.readouterr()
    assert main(["packet", "verify", str(s04), "--catalog", str(lax)]) == 0
    assert main(["packet", "verify", str(s04)]) == 1          # judged against ./gates.yaml
    assert "S04 was judged by other rules than" in capsys.readouterr().err
    assert main(["gates"]) == 1
    assert "CHANGED" in _row(capsys.readouterr().out, "S04")
    # a gate the catalog does not have at all
    only_s03 = write(workdir / "s03only" / "gates.yaml", SMALL_CATALOG.split("  - id: S04")[0])
    assert main(["packet", "verify", str(s04), "--catalog", str(only_s03)]) == 1
    assert "gate S04 is not in" in capsys.readouterr().err


def test_a_resealed_packet_with_the_old_signature_is_never_intact(workdir, results, capsys):
    key, allowed = _key(workdir, "lead")
    fill(results)
    assert main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure",
                 "-q"]) == 1
    packet = workdir / "reports/packets/S03"
    assert main(["packet", "sign", str(packet), "--key", str(key)]) == 0
    capsys.readouterr()
    assert main(["packet", "verify", str(packet)]) == 0      # a valid signature, signer unchecked
    assert "signed, signer not checked" in capsys.readouterr().out
    data = json.loads((packet / "packet.json").read_text())
    data["decision"] = "GO"                                   # the attack: NO-GO -> GO, resealed
    (packet / "packet.json").write_text(json.dumps(data))
    write_manifest(packet)
    assert main(["packet", "verify", str(packet)]) == 1
    assert "MANIFEST.sig does not match MANIFEST.sha256" in capsys.readouterr().err
    assert main(["packet", "verify", str(packet), "--allowed-signers", str(allowed)]) == 1
    capsys.readouterr()
    assert main(["gates"]) == 1
    row = _row(capsys.readouterr().out, "S03")
    assert "CHANGED" in row and "BROKEN" in row, row
    (packet / "MANIFEST.sig").unlink()                        # dropping it: packet.json says signed
    assert main(["packet", "verify", str(packet)]) == 1
    assert "says it was signed, but MANIFEST.sig is missing" in capsys.readouterr().err


def test_the_manifest_binds_gate_target_catalog_and_results_under_sha256sum(workdir, results):
    fill(results)
    main(["packet", "build", "--results", str(results.directory), "--gate", "S03", "--no-allure", "-q"])
    packet = workdir / "reports/packets/S03"
    head = [line for line in (packet / "MANIFEST.sha256").read_text().splitlines() if line.startswith("#")]
    assert [line.split()[1] for line in head[1:]] == ["gate", "target", "catalog", "results"]
    assert head[1] == "# gate S03"
    done = subprocess.run(["sha256sum", "--strict", "-c", "MANIFEST.sha256"], cwd=packet,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # stripping the binding (a manifest as an older harness wrote it) is refused
    text = (packet / "MANIFEST.sha256").read_text()
    (packet / "MANIFEST.sha256").write_text("".join(f"{line}\n" for line in text.splitlines()
                                                    if not line.startswith("#")))
    assert main(["packet", "verify", str(packet)]) == 1
