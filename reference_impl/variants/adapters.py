"""Adapter variants that break the role model in the service layer (the database is untouched)."""

from __future__ import annotations

from uuid import UUID

import psycopg

from reference_impl.adapter import ReferenceAdapter


class ViewerCanWriteAdapter(ReferenceAdapter):
    """Authorises any active member to manage anyone: the classic missing role check."""

    def _authorise(self, conn: psycopg.Connection, workspace: UUID, actor: UUID, target_role: str) -> None:
        self._role_of(conn, workspace, actor)  # still a member, but the role is never looked at
