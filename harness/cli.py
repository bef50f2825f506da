"""The ``harness`` command line (also ``python -m harness``).

Exit codes: 0 GO / success, 1 NO-GO / a check failed, 2 usage or configuration error. A
configuration error prints one line naming the file, the field and the fix, and no traceback.

    harness gate S03 [--target FILE] [--out DIR]   run S03's suites, write its packet
    harness gate --all                             every gate, one line each
    harness gates                                  the catalog and each gate's latest decision
    harness packet build --results DIR [--results DIR2 ...] --gate S03
                                                   a packet from results produced elsewhere
    harness packet sign DIR --key KEY              sign it (ssh-keygen -Y sign)
    harness packet verify DIR [--allowed-signers FILE]
                                                   has anything changed? who signed it?
    harness doctor                                 which backends work here, and why not
    harness init --migrations FOLDER [--adapter CAPS]
                                                   a draft target.yaml (and adapter skeleton)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import traceback
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


class _Signalled(HarnessError):
    """SIGTERM arrived while the harness itself was working (not while pytest ran)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}: stopped cleanly, "
                         "nothing half-written was left behind; no packet was written")


def _raise_signalled(signum: int, _frame: object) -> None:
    raise _Signalled(signum)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _doctor(args: argparse.Namespace) -> int:
    from harness import doctor
    from harness.backends import require_extensions
    from harness.target import load_target

    if args.reap:   # before the spec: a broken spec must not keep a killed run's cluster alive
        for line in doctor.reap():
            print(f"harness: {line}")
    spec = load_target(args.target)
    results = doctor.diagnose_all(spec)
    print(doctor.render(spec, results))
    require_extensions(spec)  # after the diagnosis, which shows which backend has them
    selected = next(d for d in results if d.backend == spec.database.backend)
    return 0 if selected.works else 1


def _init(args: argparse.Namespace) -> int:
    from harness.onboarding import InitRequest, print_report, run_init

    result = run_init(InitRequest(
        migrations=Path(args.migrations) if args.migrations else None, tool=args.tool,
        dsn=args.dsn, preset=args.preset, adapter=args.adapter,
        out=Path(args.out) if args.out else None, force=args.force),
        progress=lambda line: print(line, flush=True))  # seconds of work: say what is happening
    print_report(result, sys.stdout)
    return 0


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


def _request(args: argparse.Namespace, catalog, gate_id: str, results: list[Path], target):
    from harness.gates.assemble import BuildRequest

    return BuildRequest(catalog=catalog, gate_id=gate_id, results_dir=results[0],
                        more_results=tuple(results[1:]), out_root=Path(args.out),
                        waivers=_waivers(args, catalog, target), target=target,
                        baseline=Path(args.baseline) if getattr(args, "baseline", None) else None,
                        allure=not args.no_allure)


def _locked(out: Path, gate_ids: tuple[str, ...]) -> contextlib.ExitStack:
    from harness.gates.packets_folder import gate_lock

    stack = contextlib.ExitStack()
    try:
        for gate_id in gate_ids:
            stack.enter_context(gate_lock(out, gate_id))
    except BaseException:
        stack.close()
        raise
    return stack


def _gate(args: argparse.Namespace) -> int:
    from harness.backends import require_extensions
    from harness.configcheck import check_profiles
    from harness.gates.console import print_gate_line, print_gate_summary
    from harness.gates.packets_folder import check_writable
    from harness.gates.runner import new_results_dir, run_gates
    from harness.target import load_target

    if bool(args.gates) == bool(args.all):
        raise _UsageError("name the gates to run (e.g. 'harness gate S03') or pass --all, not both")
    if args.workers is not None and args.workers < 1:
        raise _UsageError(f"--workers {args.workers}: give 1 or more (1 runs the suites in one process)")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1) if args.all else 1
    target = load_target(args.target)
    require_extensions(target)  # a backend without them is exit 2 before any suite runs
    catalog = _catalog(args, target)
    gate_ids = tuple(g.id for g in catalog.gates) if args.all else tuple(dict.fromkeys(args.gates))
    for gate_id in gate_ids:
        catalog.gate(gate_id)  # an unknown gate is a usage error before anything runs
    # every profile and profile variable the suites will read: a typo is exit 2 here, with the
    # last packet untouched, not test errors in a NO-GO packet swapped over it
    check_profiles(target)
    # both folders are checked before any suite runs: a long run never ends in "cannot write"
    check_writable(Path(args.out), "--out")
    check_writable(Path(args.results), "--results")
    console = _console()
    _previous_packets_as_baselines(Path(args.out), gate_ids, args.no_baseline)
    with _locked(Path(args.out), gate_ids):
        results = new_results_dir(Path(args.results), "all" if args.all else "-".join(gate_ids))
        run, packets = run_gates(_request(args, catalog, gate_ids[0], [results], target), gate_ids,
                                 target, results, args.quiet, workers)
    if run.note:
        console.print(f"harness: {run.note}", style="dim")
    for built in packets:
        if args.quiet or len(packets) > 1:
            print_gate_line(console, built)
        else:
            print_gate_summary(console, built)
    return 0 if all(p.decision == "GO" for p in packets) else 1


def _previous_packets_as_baselines(out: Path, gate_ids: tuple[str, ...], skip: bool) -> None:
    """Points each family's baseline variable at the previous packet of its gate, when one
    exists and the variable is not set already (the suites read it before the packet is
    replaced); ``--no-baseline`` clears them, so nothing is compared."""
    import os

    from harness.baselines import BASELINE_GATES

    for env, gate_id in BASELINE_GATES.items():
        if skip:
            os.environ.pop(env, None)
        elif gate_id in gate_ids and not os.environ.get(env) and (out / gate_id / "packet.json").is_file():
            os.environ[env] = str((out / gate_id).resolve())


def _gates(args: argparse.Namespace) -> int:
    from harness.gates.console import print_catalog
    from harness.gates.latest import latest_packet

    catalog = _catalog(args, None)
    root = Path(args.out)
    latest = [latest_packet(root, g.id, g, str(catalog.path)) for g in catalog.gates]
    print_catalog(_console(), catalog, latest, root)
    # a packet that changed, lies about its gate or was judged by other rules is refused: exit 1
    return 1 if any(p.decision is not None and not p.intact for p in latest) else 0


def _packet_build(args: argparse.Namespace) -> int:
    from harness.gates.assemble import build_packet
    from harness.gates.console import print_gate_line, print_gate_summary
    from harness.gates.packets_folder import check_writable
    from harness.target import load_target

    target = None
    if args.target is not None:
        target = load_target(args.target)
    elif Path(DEFAULT_TARGET).is_file():
        target = load_target(DEFAULT_TARGET)
    catalog = _catalog(args, target)
    catalog.gate(args.gate)
    check_writable(Path(args.out), "--out")
    console = _console()
    with _locked(Path(args.out), (args.gate,)):
        built = build_packet(_request(args, catalog, args.gate, [Path(r) for r in args.results], target))
    if args.quiet:
        print_gate_line(console, built)
    else:
        print_gate_summary(console, built)
    return 0 if built.decision == "GO" else 1


def _packet_directory(value: str) -> Path:
    directory = Path(value)
    if not directory.is_dir() or not (directory / "packet.json").is_file():
        raise ConfigError(str(directory), "", "no packet there (no packet.json)",
                          "pass the directory of a packet, e.g. reports/packets/S03")
    return directory


def _packet_sign(args: argparse.Namespace) -> int:
    from harness.gates.packets_folder import gate_lock
    from harness.gates.signing import sign_packet

    directory = _packet_directory(args.directory)
    with gate_lock(directory.resolve().parent, directory.resolve().name):
        fingerprint = sign_packet(directory, Path(args.key))
    print(f"harness: packet {directory} signed with {fingerprint}: MANIFEST.sig")
    return 0


def _packet_verify(args: argparse.Namespace) -> int:
    from harness.gates.manifest import verify
    from harness.gates.signing import signature_state, verify_signature

    directory = Path(args.directory)
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "no packet directory there",
                          "pass the directory of a packet, e.g. reports/packets/S03")
    problems = verify(directory)
    if not problems:
        problems += _binding_problems(args, directory)
    state = None
    if args.allowed_signers is not None:
        problems += verify_signature(directory, Path(args.allowed_signers))
    else:
        state = signature_state(directory)
        if state.broken:   # a signature that does not match is never "intact", trusted or not
            problems.append(state.detail)
    if problems:
        for problem in problems:
            print(f"harness: packet {directory}: {problem}", file=sys.stderr)
        return 1
    if state is None:
        print(f"harness: packet {directory} is intact and signed by a key in {args.allowed_signers}")
    else:
        tail = (f"{state.detail}" if state.signed else
                f"{state.detail.upper()}: anyone could have re-computed the manifest; "
                "sign it with harness packet sign")
        print(f"harness: packet {directory} is intact: every file matches MANIFEST.sha256; {tail}")
    return 0


def _binding_problems(args: argparse.Namespace, directory: Path) -> list[str]:
    """The packet's folder, gate and catalog rules against the catalog in use (``--catalog``)."""
    from harness.gates.manifest import check_binding, read_binding

    catalog = _catalog(args, None)
    binding = read_binding(directory)
    gate = next((g for g in catalog.gates if binding is not None and g.id == binding.gate), None)
    return check_binding(directory, gate, str(catalog.path))


def build_parser() -> argparse.ArgumentParser:
    summary = __doc__.split("\n\n")[2]
    parser = _Parser(prog="harness", description="The gate-evidence harness: suites in, gate packets out.",
                     epilog=f"commands:\n{summary}\n\nexit codes: 0 GO, 1 NO-GO, 2 usage or configuration error",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    doctor = sub.add_parser("doctor", help="say which backends work here and why not")
    doctor.add_argument("--target", default=DEFAULT_TARGET, help="target spec (default: target.yaml)")
    doctor.add_argument("--reap", action="store_true",
                        help="stop and remove what killed runs left behind (servers, rehearsal "
                             "clusters, API servers, load generators, their folders)")
    doctor.set_defaults(func=_doctor)

    init = sub.add_parser("init", help="draft a target.yaml from your migrations (and an adapter skeleton)")
    init.add_argument("--migrations", default=None, metavar="FOLDER",
                      help="your migrations: applied to a scratch database on the embedded server")
    init.add_argument("--tool", default="sql", choices=("sql", "alembic"),
                      help="how the migrations are written (default: sql)")
    init.add_argument("--dsn", default=None,
                      help="read an existing database's catalog instead (read-only; never printed)")
    init.add_argument("--preset", default=None,
                      help="supabase, tenant-setting or none (default: guessed from the migrations)")
    init.add_argument("--adapter", default=None, metavar="CAPS",
                      help="write adapter.py with every method of these capabilities, e.g. "
                           "events,entitlements,tenants")
    init.add_argument("--out", default=None,
                      help="the spec to write (default: target.yaml next to the migrations folder)")
    init.add_argument("--force", action="store_true",
                      help="replace a spec (or adapter) someone edited")
    init.set_defaults(func=_init)

    gate = sub.add_parser("gate", help="run the suites that feed gates and write their packets")
    gate.add_argument("gates", nargs="*", metavar="GATE", help="gate ids, e.g. S03")
    gate.add_argument("--all", action="store_true", help="every gate in the catalog")
    gate.add_argument("--target", default=DEFAULT_TARGET, help="target spec (default: target.yaml)")
    gate.add_argument("--no-baseline", action="store_true",
                      help="do not compare load and relevance with the gate's previous packet "
                           "(compared by default when one exists in --out)")
    gate.add_argument("--results", default=DEFAULT_RESULTS,
                      help=f"where allure results go, one folder per run (default: {DEFAULT_RESULTS})")
    gate.add_argument("--workers", type=int, default=None, metavar="N",
                      help="pytest-xdist workers for the suites, 1 for one process (default: one "
                           "per core with --all, else 1); tests marked 'alone' run after, serially")
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
    build.add_argument("--results", required=True, action="append",
                       help="allure results directory (pytest --alluredir); repeat it for the "
                            "shards of one run (a CI matrix)")
    build.add_argument("--gate", required=True, help="gate id, e.g. S03")
    build.add_argument("--target", default=None,
                       help="target spec whose documents are checked (default: target.yaml if present)")
    build.add_argument("--baseline", default=None, help="a previous packet of the gate to compare with")
    _packet_options(build)
    build.set_defaults(func=_packet_build)
    sign = packet_sub.add_parser("sign", help="sign a packet's manifest with an SSH key (MANIFEST.sig)")
    sign.add_argument("directory", help="the packet directory, e.g. reports/packets/S03")
    sign.add_argument("--key", required=True, help="the SSH private key to sign with (ssh-keygen -Y sign)")
    sign.set_defaults(func=_packet_sign)
    verify = packet_sub.add_parser("verify", help="check a packet against its MANIFEST.sha256 and signature")
    verify.add_argument("directory", help="the packet directory, e.g. reports/packets/S03")
    verify.add_argument("--allowed-signers", default=None,
                        help="an allowed_signers file (as for git): the packet must be signed by one of them")
    verify.add_argument("--catalog", default=None,
                        help="the gate catalog the packet must have been judged by (default: "
                             "gates.yaml here, else the harness's own)")
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
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except HarnessError as exc:
        return _fail(str(exc))
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_signalled) if in_main else None
    try:
        return int(args.func(args))
    except _Signalled as exc:
        _fail(str(exc), prefix="harness: ")
        return 128 + exc.signum
    except HarnessError as exc:
        signum = getattr(exc, "signum", None)
        if signum is not None:   # the runner's Interrupted: pytest was stopped and cleaned up
            _fail(str(exc), prefix="harness: ")
            return 128 + signum
        return _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted: nothing half-written was left behind; no packet was written",
              prefix="harness: ")
        return 130
    except OSError as exc:   # a disk that fills or a folder that vanishes mid-way
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc} (fix: free space or pass another --out)")
    except SystemExit as exc:
        # something imported on the way (an adapter module?) called sys.exit(): never a success
        return _fail(f"sys.exit({exc.code!r}) was called while the harness worked (by a module it "
                     "imported, such as the target's adapter); no packet was written")
    except Exception:
        # a bug: show where, but never a password
        print(_redact(traceback.format_exc()), file=sys.stderr, end="")
        return 2
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _redact(text: str) -> str:
    from harness.gates.redaction import Redactor

    return Redactor.for_target(None).text(text)


def _fail(message: str, prefix: str = "harness: error: ") -> int:
    print(prefix + _redact(message).replace("\n", " "), file=sys.stderr)
    return 2
