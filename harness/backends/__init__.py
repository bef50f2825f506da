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
from typing import Any, Protocol

from harness.secrets import ConnParams
from harness.target import TargetSpec

__all__ = ["REGISTRY", "Backend", "Diagnosis", "ServerState", "available_extensions", "get_backend"]


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
