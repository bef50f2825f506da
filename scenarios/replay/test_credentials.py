"""S08.connector-credential-safety: references only, workspace-scoped, with a tracked lifecycle."""

from __future__ import annotations

import secrets

import pytest

from harness.evidence import attach_json
from harness.replay.credentials import secrets_at_rest
from harness.replay.failures import ReplayFailure, as_json

ITEM = "S08.connector-credential-safety"


def _secret(tag: str) -> str:
    return f"{tag}_{secrets.token_urlsafe(24)}"


@pytest.mark.evidence(ITEM, story="F6-E1-S1")
def test_no_column_of_any_table_holds_a_seeded_secret(credentials, workspace, owner_conn, harness_target):
    """Secrets stored, rotated and revoked through the target are found in no text, JSON or
    bytea column of any table, plain or encoded: only references are stored."""
    seeded = [_secret("sk_live"), _secret("ghp"), _secret("xoxb"), _secret("rotated")]
    first = credentials.store_credential(workspace, "stripe", seeded[0])
    credentials.store_credential(workspace, "github", seeded[1])
    third = credentials.store_credential(workspace, "slack", seeded[2])
    credentials.rotate_credential(workspace, first, seeded[3])
    credentials.revoke_credential(workspace, third)
    hits = secrets_at_rest(owner_conn, harness_target.tenancy.schemas, seeded)
    attach_json({"secrets seeded": len(seeded), "hits": hits}, "secret scan")
    if hits:
        raise ReplayFailure(f"{len(hits)} column(s) hold a secret instead of a reference",
                            [("hits", as_json(hits))])


@pytest.mark.evidence(ITEM, story="F6-E1-S2")
def test_a_credential_is_visible_only_to_its_own_workspace(credentials, new_workspace):
    """Workspace B can neither resolve nor see workspace A's credential."""
    a, b = new_workspace(), new_workspace()
    secret = _secret("sk_live")
    credential = credentials.store_credential(a, "stripe", secret)
    seen = {"A reads": credentials.read_credential(a, credential) == secret,
            "B reads": credentials.read_credential(b, credential),
            "B status": credentials.credential_status(b, credential)}
    attach_json(seen, "visibility")
    if not seen["A reads"] or seen["B reads"] is not None or seen["B status"] is not None:
        raise ReplayFailure("a credential leaked across workspaces (or its owner cannot read it)",
                            [("seen", as_json({**seen, "B reads": bool(seen["B reads"])}))])


@pytest.mark.evidence(ITEM, story="F6-E1-S3")
def test_rotated_and_revoked_credentials_can_no_longer_be_read(credentials, workspace):
    """Rotation leaves the old credential rotated and unreadable and the new one active;
    revocation leaves it revoked and unreadable by the app."""
    old_secret, new_secret = _secret("old"), _secret("new")
    old = credentials.store_credential(workspace, "hubspot", old_secret)
    new = credentials.rotate_credential(workspace, old, new_secret)
    after_rotation = {"old": (credentials.credential_status(workspace, old), credentials.read_credential(workspace, old)),
                      "new": (credentials.credential_status(workspace, new), credentials.read_credential(workspace, new))}
    credentials.revoke_credential(workspace, new)
    after_revocation = (credentials.credential_status(workspace, new), credentials.read_credential(workspace, new))
    shown = {"after rotation": {k: (s, v is not None) for k, (s, v) in after_rotation.items()},
             "after revocation": (after_revocation[0], after_revocation[1] is not None)}
    attach_json(shown, "lifecycle")
    if after_rotation != {"old": ("rotated", None), "new": ("active", new_secret)} or \
            after_revocation != ("revoked", None):
        raise ReplayFailure("the credential lifecycle is not enforced", [("states", as_json(shown))])
