"""The ``harness`` command line (also ``python -m harness``).

Exit codes: 0 GO / success, 1 NO-GO / a check failed, 2 usage or configuration error. A
configuration error prints one line naming the file, the field and the fix, and no traceback.

    harness gate S03 [--target FILE] [--out DIR]   run S03's suites, write its packet
    harness gate --all                             every gate, one line each
    harness gates                                  the catalog and each gate's latest decision
    harness packet build --results DIR --gate S03  a packet from results produced elsewhere
    harness packet verify DIR                      has anything in the packet changed?
    harness doctor                                 which backends work here, and why not
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import ConfigError, HarnessError

__all__ = ["main"]

DEFAULT_CATALOG = "gates.yaml"
DEFAULT_WAIVERS = "waivers.yaml"
DEFAULT_TARGET = "target.yaml"
DEFAULT_PACKETS = "reports/packets"
DEFAULT_RESULTS = "reports/allure-results"


class _UsageError(HarnessError):
    """A command line argparse rejected: reported in one line like every other error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _doctor(args: argparse.Namespace) -> int:
    from harness import doctor
    from harness.target import load_target

    spec = load_target(args.target)
    results = doctor.diagnose_all(spec)
    print(doctor.render(spec, results))
    selected = next(d for d in results if d.backend == spec.database.backend)
    return 0 if selected.works else 1


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _beside(target, name: str) -> Path | None:
    """``name`` next to the target spec, else in the current directory, if it is there."""
    places = ([target.root] if target is not None else []) + [Path.cwd()]
    return next((place / name for place in places if (place / name).is_file()), None)


def _catalog(args: argparse.Namespace, target):
    """``--catalog``, else gates.yaml next to the spec (or here), else the harness's own."""
    from harness.gates.catalog import load_catalog

    if args.catalog is not None:
        path = Path(args.catalog)
    else:
        path = _beside(target, DEFAULT_CATALOG) or \
            Path(__file__).resolve().parent / "gates" / "default_gates.yaml"
    catalog = load_catalog(path)
    risks = getattr(args, "risks", None)
    return catalog if risks is None else _with_risk_register(catalog, Path(risks).resolve())


def _with_risk_register(catalog, path: Path):
    """The catalog with every risk-register item reading ``path`` (``--risks``)."""
    from dataclasses import replace

    gates = tuple(replace(gate, items=tuple(
        replace(item, path=str(path)) if item.check == "risk-register" else item
        for item in gate.items)) for gate in catalog.gates)
    return replace(catalog, gates=gates)


def _waivers(args: argparse.Namespace, catalog, target=None):
    from harness.gates.waivers import load_waivers

    if args.waivers is not None:
        return load_waivers(args.waivers, catalog)
    default = _beside(target, DEFAULT_WAIVERS)
    return load_waivers(default, catalog) if default is not None else ()


def _request(args: argparse.Namespace, catalog, gate_id: str, results: Path, target):
    from harness.gates.assemble import BuildRequest

    return BuildRequest(catalog=catalog, gate_id=gate_id, results_dir=results,
                        out_root=Path(args.out), waivers=_waivers(args, catalog, target), target=target,
                        baseline=Path(args.baseline) if getattr(args, "baseline", None) else None,
                        allure=not args.no_allure)


def _gate(args: argparse.Namespace) -> int:
    from harness.gates.console import print_gate_line, print_gate_summary
    from harness.gates.runner import run_gates
    from harness.target import load_target

    if bool(args.gates) == bool(args.all):
        raise _UsageError("name the gates to run (e.g. 'harness gate S03') or pass --all, not both")
    target = load_target(args.target)
    catalog = _catalog(args, target)
    gate_ids = tuple(g.id for g in catalog.gates) if args.all else tuple(dict.fromkeys(args.gates))
    for gate_id in gate_ids:
        catalog.gate(gate_id)  # an unknown gate is a usage error before anything runs
    results = Path(args.results) / ("all" if args.all else "-".join(gate_ids))
    console = _console()
    run, packets = run_gates(_request(args, catalog, gate_ids[0], results, target), gate_ids,
                             target, results, args.quiet)
    if run.note:
        console.print(f"harness: {run.note}", style="dim")
    for built in packets:
        if args.quiet or len(packets) > 1:
            print_gate_line(console, built)
        else:
            print_gate_summary(console, built)
    return 0 if all(p.decision == "GO" for p in packets) else 1


def _gates(args: argparse.Namespace) -> int:
    from harness.gates.console import print_catalog
    from harness.gates.latest import latest_packet

    catalog = _catalog(args, None)
    root = Path(args.out)
    print_catalog(_console(), catalog, [latest_packet(root, g.id) for g in catalog.gates], root)
    return 0


def _packet_build(args: argparse.Namespace) -> int:
    from harness.gates.assemble import build_packet
    from harness.gates.console import print_gate_line, print_gate_summary
    from harness.target import load_target

    target = None
    if args.target is not None:
        target = load_target(args.target)
    elif Path(DEFAULT_TARGET).is_file():
        target = load_target(DEFAULT_TARGET)
    catalog = _catalog(args, target)
    catalog.gate(args.gate)
    console = _console()
    built = build_packet(_request(args, catalog, args.gate, Path(args.results), target))
    if args.quiet:
        print_gate_line(console, built)
    else:
        print_gate_summary(console, built)
    return 0 if built.decision == "GO" else 1


def _packet_verify(args: argparse.Namespace) -> int:
    from harness.gates.manifest import verify

    directory = Path(args.directory)
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "no packet directory there",
                          "pass the directory of a packet, e.g. reports/packets/S03")
    problems = verify(directory)
    if not problems:
        print(f"harness: packet {directory} is intact: every file matches MANIFEST.sha256")
        return 0
    for problem in problems:
        print(f"harness: packet {directory}: {problem}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    summary = __doc__.split("\n\n")[2]
    parser = _Parser(prog="harness", description="The gate-evidence harness: suites in, gate packets out.",
                     epilog=f"commands:\n{summary}\n\nexit codes: 0 GO, 1 NO-GO, 2 usage or configuration error",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    doctor = sub.add_parser("doctor", help="say which backends work here and why not")
    doctor.add_argument("--target", default=DEFAULT_TARGET, help="target spec (default: target.yaml)")
    doctor.set_defaults(func=_doctor)

    gate = sub.add_parser("gate", help="run the suites that feed gates and write their packets")
    gate.add_argument("gates", nargs="*", metavar="GATE", help="gate ids, e.g. S03")
    gate.add_argument("--all", action="store_true", help="every gate in the catalog")
    gate.add_argument("--target", default=DEFAULT_TARGET, help="target spec (default: target.yaml)")
    gate.add_argument("--results", default=DEFAULT_RESULTS,
                      help=f"where allure results go, one folder per run (default: {DEFAULT_RESULTS})")
    _packet_options(gate)
    gate.set_defaults(func=_gate)

    gates = sub.add_parser("gates", help="list the catalog and each gate's latest decision")
    gates.add_argument("--catalog", default=None,
                       help="gate catalog (default: gates.yaml here, else the harness's own)")
    gates.add_argument("--out", default=DEFAULT_PACKETS, help=f"packets folder (default: {DEFAULT_PACKETS})")
    gates.set_defaults(func=_gates)

    packet = sub.add_parser("packet", help="build or verify a gate packet")
    packet_sub = packet.add_subparsers(dest="packet_command", required=True, parser_class=_Parser)
    build = packet_sub.add_parser("build", help="assemble a packet from allure results produced elsewhere")
    build.add_argument("--results", required=True, help="allure results directory (pytest --alluredir)")
    build.add_argument("--gate", required=True, help="gate id, e.g. S03")
    build.add_argument("--target", default=None,
                       help="target spec whose documents are checked (default: target.yaml if present)")
    build.add_argument("--baseline", default=None, help="a previous packet of the gate to compare with")
    _packet_options(build)
    build.set_defaults(func=_packet_build)
    verify = packet_sub.add_parser("verify", help="check a packet against its MANIFEST.sha256")
    verify.add_argument("directory", help="the packet directory, e.g. reports/packets/S03")
    verify.set_defaults(func=_packet_verify)
    return parser


def _packet_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_PACKETS,
                        help=f"packets folder; the packet goes to OUT/<gate>/ (default: {DEFAULT_PACKETS})")
    parser.add_argument("--catalog", default=None,
                        help="gate catalog (default: gates.yaml next to the target spec, else the "
                             "harness's own)")
    parser.add_argument("--waivers", default=None,
                        help="waivers file (default: waivers.yaml next to the target spec, if present)")
    parser.add_argument("--risks", default=None,
                        help="risk register for the risk-register items (default: the catalog's "
                             "path, next to the target spec)")
    parser.add_argument("--no-allure", action="store_true", help="do not render the Allure report")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="one line per gate, no tables (harness gate: pytest's output goes to a log)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
