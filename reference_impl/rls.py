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


def lock_tables_all_or_none(tables: tuple[str, ...] | list[str]) -> None:
    """ACCESS EXCLUSIVE on every table, taken all at once or not at all, before a downgrade drops
    them. A plain LOCK takes the tables one by one and waits while holding the first ones, which
    deadlocks with live traffic that takes them in another order (a foreign key check locks the
    parent after the child, a trigger the child after the parent). NOWAIT in a retried block
    never waits while holding; after ten seconds of busy tables it waits like a plain LOCK.
    """
    names = ", ".join(tables)
    op.execute(f"""
        DO $$
        DECLARE deadline timestamptz := clock_timestamp() + interval '10 seconds';
        BEGIN
            LOOP
                BEGIN
                    LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE NOWAIT;
                    RETURN;
                EXCEPTION WHEN lock_not_available THEN
                    IF clock_timestamp() > deadline THEN
                        LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE;
                        RETURN;
                    END IF;
                    PERFORM pg_sleep(0.02);
                END;
            END LOOP;
        END $$""")
