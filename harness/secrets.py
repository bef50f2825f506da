"""Connection parameters that never print their password.

Everything that reaches a log, a packet or a test report goes through :class:`ConnParams`, whose
``repr`` and :meth:`ConnParams.safe` leave the password out, and whose full conninfo is only
produced for the driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from harness.errors import ConfigError

__all__ = ["ConnParams", "redact"]


@dataclass(frozen=True)
class ConnParams:
    host: str
    port: int | None
    user: str
    dbname: str
    password: str | None = field(default=None, repr=False)

    def with_db(self, dbname: str) -> ConnParams:
        return replace(self, dbname=dbname)

    def as_user(self, user: str, password: str | None) -> ConnParams:
        return replace(self, user=user, password=password)

    def conninfo(self) -> str:
        """The libpq string for the driver only: it carries the password."""
        parts = {"host": self.host, "user": self.user, "dbname": self.dbname}
        if self.port is not None:
            parts["port"] = str(self.port)
        if self.password is not None:
            parts["password"] = self.password
        return make_conninfo(**parts)

    def sqlalchemy_url(self):
        from sqlalchemy.engine import URL

        query = {"host": self.host} if self.host.startswith("/") else {}
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host=None if query else self.host,
            port=None if query else self.port,
            database=self.dbname,
            query=query,
        )

    def safe(self) -> str:
        """What may be shown to a person: user, host, port and database, never the password."""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.user}@{self.host}{port}/{self.dbname}"

    @classmethod
    def from_dsn(cls, dsn: str, *, where: str = "DSN", field: str = "") -> ConnParams:
        """Parses a libpq DSN or URL. A bad one is a one-line ConfigError that never quotes it:
        the driver's own message would echo the DSN, password included."""
        try:
            parts = conninfo_to_dict(dsn)
            port = int(parts["port"]) if parts.get("port") else None
        except Exception as exc:  # psycopg.ProgrammingError, ValueError: both may quote the DSN
            reason = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, dsn)
            raise ConfigError(where, field, f"is not a valid PostgreSQL DSN ({reason})",
                              "use postgresql://user:password@host:port/dbname "
                              "(IPv6 hosts in [brackets])") from None
        return cls(
            host=str(parts.get("host") or "localhost"),
            port=port,
            user=str(parts.get("user") or "postgres"),
            dbname=str(parts.get("dbname") or "postgres"),
            password=str(parts["password"]) if parts.get("password") else None,
        )


# greedy up to the last '@' of the word: a password may itself contain '@'
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]*):\S+@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def redact(text: str, *secrets: str | None) -> str:
    """Removes passwords from free text: URL userinfo, ``password=`` pairs and known secrets."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    text = _KV_PASSWORD.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
