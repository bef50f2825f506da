"""The ``harness`` command line (also ``python -m harness``).

Exit codes: 0 GO / success, 1 NO-GO / a check failed, 2 usage or configuration error. A
configuration error prints one line naming the file, the field and the fix, and no traceback.
"""

from __future__ import annotations

import argparse
import sys

from harness.errors import HarnessError

__all__ = ["main"]


def _doctor(args: argparse.Namespace) -> int:
    from harness import doctor
    from harness.target import load_target

    spec = load_target(args.target)
    results = doctor.diagnose_all(spec)
    print(doctor.render(spec, results))
    selected = next(d for d in results if d.backend == spec.database.backend)
    return 0 if selected.works else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="say which backends work here and why not")
    doctor.add_argument("--target", default="target.yaml", help="target spec (default: target.yaml)")
    doctor.set_defaults(func=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
