"""SQL the reference migrations share: the app role's name and the standard tenant posture.

Migrations import these, so a change here would rewrite history: add a function, never change
one that a migration already calls. Every tenant table gets the same treatment: RLS enabled and FORCED, one policy per command
bound to ``app.workspace_id``, and privileges for the app role only for the commands it is
meant to run.
"""

from alembic import context, op

TENANT = "nullif(current_setting('app.workspace_id', true), '')::uuid"


def app_role() -> str:
    cfg = context.config
    role = cfg.attributes.get("app_role") or context.get_x_argument(as_dictionary=True).get("app_role")
    return role or "app_user"


def secure_tenant_table(table: str, commands: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE")) -> None:
    role = app_role()
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for command in commands:
        name = f"{table}_{command.lower()}_own_workspace"
        if command == "INSERT":
            op.execute(f"CREATE POLICY {name} ON {table} FOR INSERT WITH CHECK (workspace_id = {TENANT})")
        elif command == "UPDATE":
            op.execute(f"CREATE POLICY {name} ON {table} FOR UPDATE USING (workspace_id = {TENANT}) "
                       f"WITH CHECK (workspace_id = {TENANT})")
        else:
            op.execute(f"CREATE POLICY {name} ON {table} FOR {command} USING (workspace_id = {TENANT})")
    op.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    op.execute(f"GRANT {', '.join(commands)} ON {table} TO {role}")


def drop_tenant_policies(table: str, commands: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE")) -> None:
    for command in commands:
        op.execute(f"DROP POLICY IF EXISTS {table}_{command.lower()}_own_workspace ON {table}")
