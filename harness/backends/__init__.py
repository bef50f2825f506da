"""Database backends: where the PostgreSQL server under test comes from.

A backend starts a server (or reaches an existing one) and returns a :class:`ServerState`:
plain data that another process can read to connect, and that any process can hand back to
:meth:`Backend.stop`, so the process that outlives the others (the pytest controller) can stop
a server even when the worker that started it died. Backends are looked up by name in
:data:`REGISTRY`; each lives in its own module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from harness.errors import ConfigError
from harness.secrets import ConnParams

if TYPE_CHECKING:  # the spec module reads no backend; backends only take a loaded spec
    from harness.target import TargetSpec

__all__ = ["REGISTRY", "Backend", "Diagnosis", "ServerState", "available_extensions", "get_backend",
           "require_extensions"]


@dataclass(frozen=True)
class ServerState:
    backend: str
    admin: ConnParams = field(repr=False)
    handle: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["admin"] = asdict(self.admin)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerState:
        return cls(backend=data["backend"], admin=ConnParams(**data["admin"]),
                   handle=dict(data.get("handle") or {}), version=data.get("version", ""))


@dataclass(frozen=True)
class Diagnosis:
    backend: str
    works: bool
    detail: str
    # the extensions it can CREATE; None: not known without starting it (docker, dsn)
    extensions: tuple[str, ...] | None = None


class Backend(Protocol):
    name: str

    def start(self, workdir: Path) -> ServerState:
        """Starts (or reaches) a server; ``workdir`` is private to this test run."""

    def stop(self, state: ServerState) -> None:
        """Stops what :meth:`start` started, and nothing else. Safe to call twice."""

    def diagnose(self) -> Diagnosis:
        """Says whether this backend works on this machine, and why not."""


def get_backend(spec: TargetSpec) -> Backend:
    factory = REGISTRY[spec.database.backend]
    return factory(spec)


def _embedded(spec: TargetSpec) -> Backend:
    from harness.backends.embedded import EmbeddedBackend

    return EmbeddedBackend()


def _system(spec: TargetSpec) -> Backend:
    from harness.backends.system import SystemBackend

    return SystemBackend()


def _docker(spec: TargetSpec) -> Backend:
    from harness.backends.docker import DockerBackend

    return DockerBackend(spec.database.image)


def _dsn(spec: TargetSpec) -> Backend:
    from harness.backends.dsn import DsnBackend

    return DsnBackend(spec.database.dsn)


REGISTRY = {"embedded": _embedded, "system": _system, "docker": _docker, "dsn": _dsn}


def available_extensions(name: str) -> tuple[str, ...] | None:
    """The extensions backend ``name`` offers, read from its installation without starting a
    server; None when that cannot be known offline (docker, dsn)."""
    if name == "embedded":
        from harness.backends.embedded import EmbeddedBackend

        return EmbeddedBackend().extensions()
    if name == "system":
        from harness.backends.system import SystemBackend

        return SystemBackend().extensions()
    return None


def require_extensions(spec: TargetSpec) -> None:
    """``requires_extensions`` against what the chosen backend's installation offers (known
    offline for embedded and system; docker and dsn are judged by the migrations themselves).
    Checked where a server is about to be used (gate start, the plugin's target, the run's
    server start), so reading a spec never needs a backend."""
    if not spec.requires_extensions:
        return
    offered = available_extensions(spec.database.backend)
    if offered is None:
        return
    missing = [e for e in spec.requires_extensions if e not in offered]
    if not missing:
        return
    others = [b for b in REGISTRY if b != spec.database.backend
              and (o := available_extensions(b)) is not None and all(m in o for m in missing)]
    fix = (f"use backend {others[0]} (database.backend: {others[0]}, or HARNESS_BACKEND={others[0]}), "
           "which has them" if others else
           "install them into a server (e.g. apt-get install postgresql-15 postgresql-15-pgvector) "
           "and use backend system, or backend dsn on a server that has them")
    raise ConfigError(str(spec.path), "requires_extensions", f"backend {spec.database.backend} has no "
                      f"{', '.join(missing)}", fix)
