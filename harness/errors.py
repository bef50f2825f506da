"""Errors the harness raises at its edges.

Every configuration problem is a :class:`ConfigError` that names the file, the field and the
fix, so the CLI can print one line and exit 2 and the pytest plugin can stop before a test runs.
"""

from __future__ import annotations

__all__ = ["ConfigError", "HarnessError", "BackendUnavailable", "UnsafeAppRole"]


class HarnessError(Exception):
    """Base for every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A file the user wrote is wrong: says which file, which field, and how to fix it."""

    def __init__(self, file: str, field: str, problem: str, fix: str = "") -> None:
        self.file = file
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        tail = f" (fix: {self.fix})" if self.fix else ""
        return f"{where}: {self.problem}{tail}"


class BackendUnavailable(HarnessError):
    """A database backend cannot start here; the message says why and what would make it work."""


class UnsafeAppRole(HarnessError):
    """The app role could bypass row-level security, so a tenant check run as it proves nothing."""
