"""What ``harness init`` prints: what it found, and what only the user can decide."""

from __future__ import annotations

import os
from typing import TextIO

from harness.onboarding.init import InitResult

__all__ = ["print_report"]


def print_report(result: InitResult, out: TextIO) -> None:
    def say(text: str = "") -> None:
        print(text, file=out)

    draft = result.draft
    if draft is not None and result.spec is not None:
        spec = os.path.relpath(result.spec)
        say(f"harness init: wrote {spec}")
        say("found:")
        if draft.tenant_column:
            say(f"  tenant column  {draft.tenant_column} -> {draft.root} "
                f"({len(draft.tenant_tables)} table(s))")
        else:
            say("  tenant column  none found (set tenancy.column and tenancy.root)")
        if draft.root_owner:
            say(f"  root owner     {draft.root}.{draft.root_owner}")
        binding = {"postgrest": "PostgREST: auth.uid() / JWT claims, role authenticated",
                   "settings": "settings " + ", ".join(draft.settings)}.get(draft.binding_kind or "",
                                                                           "none found")
        say(f"  binding        {binding}")
        if draft.preset:
            say(f"  preset         {draft.preset}")
        if draft.membership is not None:
            m = draft.membership
            say(f"  membership     {m.table} ({m.user_column} -> {m.tenant_column}) roles "
                f"{', '.join(m.roles) or '?'}" + (f" from {m.role_column}" if m.role_column else ""))
        if draft.refusals:
            say(f"  refusals       {', '.join(draft.refusals)} (raised by the product's functions)")
        say("decide (each TODO in the file; the gate refuses the spec until none is left):")
        for fn in draft.definer_functions:
            say(f"  security_definer_allowlist.{fn}: why is it safe?")
        for name in (e for e in draft.extensions if e != "plpgsql"):
            say(f"  standards.extensions.{name}: what is it for, and why is it safe to allow?")
        for table, commands in draft.write_paths.items():
            say(f"  write_paths.{table}: {', '.join(commands)} granted, no policy admits it: "
                "how does the product write it, or why never?")
        for table in draft.global_tables:
            say(f"  global_tables.{table}: why is it the same for every tenant?")
        for cap, hits in draft.signs.items():
            say(f"  unsupported.{cap}: {hits[0]} looks like it: implement it "
                f"(harness init --adapter {cap}), or say why it does not apply")
        for cap in draft.no_sign:
            say(f"  unsupported.{cap}: no sign of it: confirm the product has none")
        needs = sorted({v for v in draft.settings.values() if v != "{tenant_id}"}
                       | ({"{user_id}"} if draft.binding_kind == "postgrest" else set()))
        if needs and result.adapter is None:
            say(f"  the binding needs {', '.join(needs)}: write create_tenant "
                "(harness init --adapter tenants)")
        say(f"then: harness gate S00 S01 S03 --target {spec}")
    if result.adapter is not None:
        say(f"harness init: wrote {os.path.relpath(result.adapter)} (every method raises Unsupported "
            "until you implement it)")
