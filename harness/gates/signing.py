"""Signed packets: ``MANIFEST.sig``, an SSH signature over ``MANIFEST.sha256``, made the way git
signs commits (``ssh-keygen -Y sign``) and checked against an ``allowed_signers`` file
(``ssh-keygen -Y verify``), so a release lead's existing SSH signing key is all it takes.

A manifest alone only shows that nothing changed since someone last re-computed it: anyone who
edits NO-GO into GO can re-compute it too. The signature ties the manifest, and through it every
file (``packet.json``, the documents, ``results.sha256``), to a key the reader trusts.

Signing first checks the packet is intact, then records the key's fingerprint in
``packet.json`` and re-renders ``packet.md`` and ``index.html`` so their first screen says who
signed, re-writes the manifest and signs it: all in a copy that replaces the packet in one step.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, HarnessError
from harness.gates.assemble import write_documents
from harness.gates.manifest import MANIFEST, SIGNATURE, check_folder, verify
from harness.gates.packets_folder import staging_dir, swap_into_place

__all__ = ["NAMESPACE", "SignatureState", "sign_packet", "signature_state", "verify_signature"]

NAMESPACE = "gate-harness-packet"
_TIMEOUT = 60


@dataclass(frozen=True)
class SignatureState:
    signed: bool           # a signature that matches the manifest (its signer not yet checked)
    detail: str
    broken: bool = False   # a signature is there (or claimed) but does not match: never intact


def _ssh_keygen(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("ssh-keygen")
    if binary is None:
        raise HarnessError("ssh-keygen is not installed here: install OpenSSH's client "
                           "(apt-get install openssh-client) to sign or verify packets")
    return subprocess.run([binary, *args], input=data if data is not None else b"",
                          capture_output=True, timeout=_TIMEOUT, check=False)


def _last_line(raw: bytes) -> str:
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _fingerprint(key: Path) -> str:
    done = _ssh_keygen(["-l", "-f", str(key)])
    if done.returncode != 0:
        raise ConfigError(str(key), "--key", f"is not an SSH key ssh-keygen can read "
                          f"({_last_line(done.stderr or done.stdout)})",
                          "pass the private key you sign with, e.g. ~/.ssh/id_ed25519")
    return done.stdout.decode().split()[1]


def sign_packet(directory: Path, key: Path) -> str:
    """Signs the packet in ``directory`` with ``key``; returns the key's fingerprint."""
    problems = verify(directory) or check_folder(directory)
    if problems:
        raise ConfigError(str(directory), MANIFEST, f"the packet is not intact ({problems[0]})",
                          "rebuild the packet; a changed or misplaced packet is never signed")
    if not key.is_file():
        raise ConfigError(str(key), "--key", "no key file there", "pass the private key you sign with")
    fingerprint = _fingerprint(key)
    data = json.loads((directory / "packet.json").read_text(encoding="utf-8"))
    data["signature"] = {"signed": True, "key": fingerprint, "namespace": NAMESPACE}
    out_root, gate = directory.resolve().parent, directory.resolve().name
    staging = staging_dir(out_root, gate)
    try:
        shutil.copytree(directory, staging, symlinks=True)
        (staging / SIGNATURE).unlink(missing_ok=True)
        write_documents(staging, data)
        done = _ssh_keygen(["-Y", "sign", "-f", str(key), "-n", NAMESPACE],
                           (staging / MANIFEST).read_bytes())
        if done.returncode != 0 or not done.stdout.startswith(b"-----BEGIN SSH SIGNATURE-----"):
            raise ConfigError(str(key), "--key", f"ssh-keygen could not sign with it "
                              f"({_last_line(done.stderr)})",
                              "use an unencrypted key or load it into ssh-agent")
        (staging / SIGNATURE).write_bytes(done.stdout)
        swap_into_place(staging, directory.resolve())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return fingerprint


def verify_signature(directory: Path, allowed_signers: Path) -> list[str]:
    """Problems with the packet's signature against ``allowed_signers``; empty: a trusted signer."""
    signature = directory / SIGNATURE
    if not allowed_signers.is_file():
        raise ConfigError(str(allowed_signers), "--allowed-signers", "no file there",
                          "pass an allowed_signers file (see ssh-keygen(1), ALLOWED SIGNERS)")
    if not signature.is_file():
        return [f"{SIGNATURE}: missing: the packet is unsigned, so nothing says who vouches for it"]
    manifest = (directory / MANIFEST).read_bytes() if (directory / MANIFEST).is_file() else b""
    found = _ssh_keygen(["-Y", "find-principals", "-s", str(signature), "-f", str(allowed_signers)])
    principals = [p for p in found.stdout.decode("utf-8", "replace").splitlines() if p.strip()]
    if found.returncode != 0 or not principals:
        return [f"{SIGNATURE}: made by a key that is not in {allowed_signers}"]
    done = _ssh_keygen(["-Y", "verify", "-f", str(allowed_signers), "-I", principals[0],
                        "-n", NAMESPACE, "-s", str(signature)], manifest)
    if done.returncode != 0:
        return [f"{SIGNATURE}: does not match {MANIFEST} (the packet changed after it was signed: "
                f"{_last_line(done.stderr or done.stdout)})"]
    return []


def signature_state(directory: Path) -> SignatureState:
    """Signed or not, without a trust decision (that needs ``--allowed-signers``): a signature
    that does not match the manifest (``ssh-keygen -Y check-novalidate``) is broken, and so is a
    packet whose packet.json says it was signed while its MANIFEST.sig is gone."""
    signature = directory / SIGNATURE
    if not signature.is_file():
        if _claims_signed(directory):
            return SignatureState(False, f"packet.json says it was signed, but {SIGNATURE} is "
                                  "missing", broken=True)
        return SignatureState(False, "unsigned")
    manifest = directory / MANIFEST
    done = _ssh_keygen(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(signature)],
                       manifest.read_bytes() if manifest.is_file() else b"")
    if done.returncode != 0:
        return SignatureState(False, f"{SIGNATURE} does not match {MANIFEST} (the packet changed "
                              "after it was signed, or the signature is not one)", broken=True)
    return SignatureState(True, "signed, signer not checked (pass --allowed-signers FILE)")


def _claims_signed(directory: Path) -> bool:
    try:
        data = json.loads((directory / "packet.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    signature = data.get("signature") if isinstance(data, dict) else None
    return isinstance(signature, dict) and signature.get("signed") is True
