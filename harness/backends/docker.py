"""The docker backend: a pgvector image started with testcontainers.

The image comes from the target spec or ``HARNESS_DOCKER_IMAGE`` (default
``pgvector/pgvector:pg17``). The container id is recorded so that the process that outlives
the test workers can remove it even when the worker that started it died.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path

from harness.backends import Diagnosis, ServerState
from harness.errors import BackendUnavailable
from harness.secrets import ConnParams, redact

__all__ = ["DockerBackend"]

SUPERUSER = "harness"


def _postgres_container_class():
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:  # testcontainers < 4.x keeps it at the top level
        from testcontainers.postgres import PostgresContainer
    return PostgresContainer


class DockerBackend:
    name = "docker"

    def __init__(self, image: str) -> None:
        self.image = image

    def start(self, workdir: Path) -> ServerState:
        problem = self._engine_problem()
        if problem:
            raise BackendUnavailable(f"docker: {problem}")
        password = secrets.token_urlsafe(24)
        container = _postgres_container_class()(
            self.image, username=SUPERUSER, password=password, dbname="postgres", driver=None,
        )
        try:
            container.start()
        except Exception as exc:  # docker errors carry the image and the reason; never the password
            with contextlib.suppress(Exception):
                container.stop()
            raise BackendUnavailable(
                f"docker: could not start {self.image}: {redact(str(exc), password)[:400]} "
                "(fix: build or pull the image, or set HARNESS_DOCKER_IMAGE)") from None
        host = container.get_container_host_ip()
        port = int(container.get_exposed_port(5432))
        admin = ConnParams(host=host, port=port, user=SUPERUSER, dbname="postgres", password=password)
        return ServerState(backend=self.name, admin=admin,
                           handle={"container_id": container.get_wrapped_container().id,
                                   "image": self.image})

    def stop(self, state: ServerState) -> None:
        import docker

        try:
            client = docker.from_env()
            client.containers.get(state.handle["container_id"]).remove(force=True, v=True)
        except docker.errors.NotFound:
            pass

    def diagnose(self) -> Diagnosis:
        problem = self._engine_problem()
        if problem:
            return Diagnosis(self.name, False, problem)
        import docker

        try:
            docker.from_env().images.get(self.image)
            where = "present locally"
        except docker.errors.ImageNotFound:
            where = "not present locally; it will be pulled on first use"
        return Diagnosis(self.name, True, f"engine reachable; image {self.image} {where}")

    @staticmethod
    def _engine_problem() -> str | None:
        try:
            import docker
        except ImportError:
            return "the docker SDK is not installed (pip install 'testcontainers[postgres]')"
        try:
            docker.from_env().ping()
        except Exception as exc:
            hint = "start dockerd" if shutil.which("dockerd") else "install Docker (apt-get install docker.io)"
            host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            return f"no Docker engine answers at {host} ({type(exc).__name__}); {hint}"
        if os.environ.get("TESTCONTAINERS_RYUK_DISABLED", "").lower() != "true" and _no_registry():
            return ("Ryuk needs an image from Docker Hub, which is not reachable here "
                    "(fix: export TESTCONTAINERS_RYUK_DISABLED=true; the harness removes its containers itself)")
        return None


def _no_registry() -> bool:
    """True when no Ryuk image is present locally, so testcontainers would try to pull one."""
    import docker

    images = docker.from_env().images.list(name="testcontainers/ryuk")
    return not images
