"""The run's password file: connections to the harness's own servers carry no password.

libpq reads a password from a file named by the ``passfile`` connection parameter
(``PGPASSFILE`` for command-line tools) when the conninfo has none. The harness writes one per
run, mode 0600, in the run's private directory, holding the passwords it generated for its own
server (the admin and the app role), and the conninfo strings it builds name that file instead
of carrying a password. A traceback or log line that shows a conninfo therefore shows no
secret; the plugin's redaction of failure reports stays as a second line of defence. The file
is removed when the run's server is stopped.

A ``dsn`` server is the user's: its DSN is used as given, never copied into a file of ours.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from harness.secrets import ConnParams

__all__ = ["FILE_NAME", "remember", "remove", "using"]

FILE_NAME = "pgpass"


def _field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _line(params: ConnParams) -> str:
    # libpq matches a socket directory against "localhost" (passwordFromFile in fe-connect.c)
    host = "localhost" if params.host.startswith("/") else params.host
    port = str(params.port) if params.port is not None else "*"
    return ":".join([_field(host), _field(port), "*", _field(params.user), _field(params.password or "")])


def remember(directory: Path, *params: ConnParams) -> Path:
    """Writes the passwords of ``params`` (any database of their server) to the run's file,
    created 0600 whatever the umask; returns its path."""
    path = directory / FILE_NAME
    lines = [_line(p) for p in params if p.password is not None]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{line}\n" for line in lines))
    os.chmod(path, 0o600)   # an existing file keeps its mode through O_CREAT
    return path


def using(params: ConnParams, path: Path) -> ConnParams:
    """``params`` whose conninfo names ``path`` instead of carrying the password."""
    return replace(params, passfile=str(path))


def remove(directory: Path) -> None:
    (directory / FILE_NAME).unlink(missing_ok=True)
