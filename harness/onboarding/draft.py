"""The draft ``target.yaml``: what ``harness init`` found, written as a spec with comments.

Each guess carries a comment saying what it was guessed from; each decision only the user can
make is a ``TODO`` reason, which the spec loader refuses, so the gate cannot run on a guess. The
file ends with a fingerprint of its own text: a re-run may replace a draft nobody touched, and
refuses (without ``--force``) to replace one somebody edited.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.onboarding.guess import Draft

__all__ = ["FINGERPRINT", "TODO_GLOBAL", "TODO_SAFE", "TODO_EXTENSION", "TODO_SIGNS", "TODO_UNSUPPORTED", "TODO_WRITE_PATH",
           "digest",
           "is_untouched_draft", "render"]

FINGERPRINT = "# harness init draft sha256:"
TODO_SAFE = "TODO: why is this safe?"
TODO_GLOBAL = "TODO: why is this table the same for every tenant?"
TODO_EXTENSION = "TODO: what is it for, and why is it safe to allow?"
TODO_WRITE_PATH = "TODO: no policy admits it; {how}: say how the product writes it, or why never"
TODO_UNSUPPORTED = "TODO: no sign of it in the catalog: confirm the product has none"
TODO_SIGNS = ("TODO: {shown} look like it: implement it (harness init --adapter {cap}) and "
              "delete this line, or say why it does not apply")


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML string, quoted whatever it holds


def render(draft: Draft, *, name: str, tool: str, location: str, source: str,
           own_platform_stub: bool = False) -> str:
    lines = [
        f"# Draft target spec written by `harness init` from {source}.",
        "# Every TODO is a decision only you can make: `harness gate` refuses this file until",
        "# none is left. Comments say what each guess was made from; change any of them.",
        f"name: {name}",
    ]
    if draft.preset:
        lines += [f"preset: {draft.preset}            # the platform's roles, auth stubs, request binding "
                  "(harness/presets/)"]
    lines += ["migrations:", f"  tool: {tool}", f"  location: {location}          # relative to this file"]
    if draft.preset == "supabase" and own_platform_stub:
        lines += ["  platform: []                   # no platform stub from the preset: "
                  + ("an Alembic chain creates the auth schema itself" if tool == "alembic"
                     else "your migrations create the auth schema themselves")]
    if not draft.preset:
        lines += ["app_role: app_user               # the login the suites act as: no superuser, "
                  "no BYPASSRLS, owns nothing"]
    lines += (_tenancy(draft) + _binding(draft) + _membership(draft) + _extensions(draft)
              + _unsupported(draft))
    for note in draft.notes:
        lines.append(f"# NOTE: {note}")
    text = "\n".join(lines) + "\n"
    return text + f"{FINGERPRINT}{digest(text)}\n"


def _tenancy(d: Draft) -> list[str]:
    out = ["tenancy:"]
    if d.tenant_column:
        out.append(f"  column: {d.tenant_column}          # a key to {d.root} on "
                   f"{len(d.tenant_tables)} table(s): {', '.join(d.tenant_tables)}")
        out.append(f"  root: {d.root}")
    else:
        out += ["  column: TODO_tenant_column     # no shared tenant key found: name it",
                "  # root: TODO_the_tenant_table"]
    if d.root_owner:
        out.append(f'  root_owner: {{column: {d.root_owner}, value: "{{user_id}}"}}   '
                   "# the root's key to the users table")
    out.append(f"  schemas: [{', '.join(d.schemas)}]")
    if d.global_tables:
        out.append(f"  global_tables:                  # no {d.tenant_column or 'tenant column'}: "
                   "one copy for everyone, or a leak?")
        out += [f"    {t}: {_q(TODO_GLOBAL)}" for t in d.global_tables]
    if d.refusals:
        out.append("  refusals:                       # SQLSTATEs the product's functions raise to "
                   "refuse: a write refused so, changing nothing, counts as refused")
        out += [f"    {state}: {_q('RAISE EXCEPTION in ' + _listed(fns))}" for state, fns in d.refusals.items()]
    if d.write_paths:
        out.append("  write_paths:                    # granted to the request role, yet no policy "
                   "admits it: never run directly?")
        for table, commands in d.write_paths.items():
            out.append(f"    {table}:")
            out += [f"      {command}: {_q(TODO_WRITE_PATH.format(how=_how(fns)))}"
                    for command, fns in commands.items()]
    if d.definer_functions:
        out.append("  security_definer_allowlist:     # SECURITY DEFINER: runs with its owner's "
                   "rights, past RLS")
        out += [f"    {f}: {_q(TODO_SAFE)}" for f in d.definer_functions]
    return out


def _binding(d: Draft) -> list[str]:
    if d.binding_kind == "postgrest":
        return ["# binding: from the preset (policies read auth.uid() / auth.jwt(): a PostgREST "
                "request, JWT claims, SET LOCAL ROLE authenticated)"]
    if d.binding_kind == "settings":
        out = ["binding:                          # what the policies read with current_setting()"]
        if d.binding_role:
            out.append(f"  role: {d.binding_role}     # the one role the policies name, or "
                       "the one granted on the tenant tables")
        out.append("  settings:")
        tenant = {n: v for n, v in d.settings.items() if v == "{tenant_id}"} or d.settings
        out += [f'    {name}: "{value}"' for name, value in tenant.items()]
        # a setting naming the user needs a principal only the product can make (create_tenant)
        out += [f'    # {name}: "{value}"   # also read by policies: bind it once create_tenant '
                "makes users" for name, value in d.settings.items() if name not in tenant]
        return out
    return ["# binding: the policies read no setting and no auth.uid(): say how a request binds",
            '# binding: {settings: {app.tenant_id: "{tenant_id}"}}']


def _membership(d: Draft) -> list[str]:
    """The membership table and its keys (a principal's tenants are read from it) and the role
    model the role matrix is generated from."""
    m = d.membership
    if m is None:
        return []
    out = [f"membership:                        # who belongs to which {d.tenant_column or 'tenant'}",
           f"  table: {m.table}",
           f"  user_column: {m.user_column}",
           f"  tenant_column: {m.tenant_column}"]
    if m.roles:
        owner = m.owner_role or m.roles[0]
        manages = ", ".join(f"{r}: [{', '.join(m.roles) if r == owner else ''}]" for r in m.roles)
        out += [f"  roles: [{', '.join(m.roles)}]             # from {m.role_column}",
                f"  owner_role: {owner}"]
    else:
        owner, manages = "owner", "owner: [owner, member], member: []"
        out += ["  roles: [owner, member]          # the table names no role: write the product's",
                "  owner_role: owner"]
    out.append(f"  manages: {{{manages}}}   # who may grant, change or remove whom: check it")
    return out


def _extensions(d: Draft) -> list[str]:
    """Installed extensions: each runs code in the database, so each is allowed with a reason."""
    extra = [e for e in d.extensions if e != "plpgsql"]
    if not extra:
        return []
    return (["standards:", "  extensions:                     # installed by the migrations: "
             "allowed on purpose?", '    plpgsql: procedural language']
            + [f"    {name}: {_q(TODO_EXTENSION)}" for name in extra])


def _unsupported(d: Draft) -> list[str]:
    """Every capability is a decision: declared unsupported with a reason, or implemented."""
    if not d.no_sign and not d.signs:
        return []
    out = ["unsupported:                       # capabilities the product lacks, each with the "
           "reason; delete a line once the adapter implements it"]
    for cap, hits in d.signs.items():
        shown = ", ".join(hits[:2]) + (", ..." if len(hits) > 2 else "")
        out.append(f"  {cap}: {_q(TODO_SIGNS.format(shown=shown, cap=cap))}")
    out += [f"  {cap}: {_q(TODO_UNSUPPORTED)}" for cap in d.no_sign]
    return out


def _how(functions: tuple[str, ...]) -> str:
    return f"written by {_listed(functions)}" if functions else "no function writes it"


def _listed(names: tuple[str, ...], most: int = 3) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_untouched_draft(path: Path) -> bool:
    """True if ``path`` is a draft exactly as ``harness init`` wrote it (safe to replace)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    body, marker, recorded = text.rpartition(FINGERPRINT)
    return bool(marker) and recorded.strip() == digest(body)
