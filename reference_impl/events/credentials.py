"""Connector credentials: the database keeps a reference, the secret lives in a secret store.

:class:`SecretStore` stands in for the product's external secret manager (one per database, in
this process). A credential row holds ``secretref://<uuid>`` only (a CHECK refuses anything
else); rotation marks the old row ``rotated`` and adds a new active one; revocation erases the
reference from the row (a CHECK ties ``revoked`` to a NULL reference) and the secret from the
store, so nothing the app role can read leads back to it.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from reference_impl.connections import AppConnections


class SecretStore:
    _stores: dict[str, dict[str, str]] = {}
    _lock = threading.Lock()

    @classmethod
    def for_database(cls, name: str) -> dict[str, str]:
        with cls._lock:
            return cls._stores.setdefault(name, {})


class CredentialOperations(AppConnections):
    db: Any
    setting: str

    def _secrets(self) -> dict[str, str]:
        return SecretStore.for_database(self.db.name)

    def store_credential(self, workspace: Any, connector: str, secret: str) -> str:
        ref = f"secretref://{uuid.uuid4()}"
        self._secrets()[ref] = secret
        with self.in_workspace(workspace) as conn:
            return str(conn.execute("insert into connector_credentials (workspace_id, connector, secret_ref) "
                                    "values (%s, %s, %s) returning credential_id",
                                    (workspace, connector, ref)).fetchone()[0])

    def rotate_credential(self, workspace: Any, credential_id: str, new_secret: str) -> str:
        ref = f"secretref://{uuid.uuid4()}"
        self._secrets()[ref] = new_secret
        with self.in_workspace(workspace) as conn:
            old = conn.execute("update connector_credentials set status = 'rotated', rotated_at = now() "
                               "where workspace_id = %s and credential_id = %s and status = 'active' "
                               "returning connector, secret_ref", (workspace, credential_id)).fetchone()
            if old is None:
                raise LookupError(f"no active credential {credential_id} in workspace {workspace}")
            self._secrets().pop(old[1], None)
            return str(conn.execute("insert into connector_credentials (workspace_id, connector, secret_ref) "
                                    "values (%s, %s, %s) returning credential_id",
                                    (workspace, old[0], ref)).fetchone()[0])

    def revoke_credential(self, workspace: Any, credential_id: str) -> None:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select secret_ref from connector_credentials where workspace_id = %s "
                               "and credential_id = %s for update", (workspace, credential_id)).fetchone()
            conn.execute("update connector_credentials set status = 'revoked', secret_ref = null, "
                         "revoked_at = now() where workspace_id = %s and credential_id = %s "
                         "and status <> 'revoked'", (workspace, credential_id))
        if row is not None and row[0]:
            self._secrets().pop(row[0], None)

    def read_credential(self, workspace: Any, credential_id: str) -> str | None:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select secret_ref from connector_credentials where workspace_id = %s "
                               "and credential_id = %s and status = 'active'",
                               (workspace, credential_id)).fetchone()
        return None if row is None else self._secrets().get(row[0])

    def credential_status(self, workspace: Any, credential_id: str) -> str | None:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select status from connector_credentials where workspace_id = %s "
                               "and credential_id = %s", (workspace, credential_id)).fetchone()
        return None if row is None else row[0]

    def _active_secret(self, workspace: Any, connector: str) -> str | None:
        with self.in_workspace(workspace) as conn:
            row = conn.execute("select secret_ref from connector_credentials where workspace_id = %s "
                               "and connector = %s and status = 'active' order by created_at desc limit 1",
                               (workspace, connector)).fetchone()
        return None if row is None else self._secrets().get(row[0])
