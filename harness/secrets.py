"""Connection parameters that never print their password.

Everything that reaches a log, a packet or a test report goes through :class:`ConnParams`, whose
``repr`` and :meth:`ConnParams.safe` leave the password out, and whose full conninfo is only
produced for the driver. A DSN is passed through whole: every libpq parameter beyond host,
port, user, database and password (``sslmode``, ``sslrootcert``, ``target_session_attrs``, ...)
is kept in :attr:`ConnParams.options` and reaches every connection made from it, so a server
that demands TLS gets TLS and a client that demands a verified certificate gets one.
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
    # the DSN's other libpq parameters, in its order (sslpassword may be among them: never shown)
    options: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # the run's password file holding this user's password (harness.passfile): when set, the
    # conninfo names it and carries no password
    passfile: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # a record read back from JSON holds lists: frozen, so normalised once here
        object.__setattr__(self, "options", tuple((str(k), str(v)) for k, v in self.options))

    def with_db(self, dbname: str) -> ConnParams:
        return replace(self, dbname=dbname)

    def as_user(self, user: str, password: str | None) -> ConnParams:
        # another user's password is not known to be in the password file: it travels itself
        return replace(self, user=user, password=password, passfile=None)

    def conninfo(self) -> str:
        """The libpq string for the driver only: it carries the password."""
        parts = {"host": self.host, "user": self.user, "dbname": self.dbname}
        if self.port is not None:
            parts["port"] = str(self.port)
        if self.passfile is not None:
            parts["passfile"] = self.passfile
        elif self.password is not None:
            parts["password"] = self.password
        return make_conninfo(**{**dict(self.options), **parts})

    def sqlalchemy_url(self):
        from sqlalchemy.engine import URL

        socket = self.host.startswith("/")   # a socket folder goes in the query, as libpq takes it
        query = {**dict(self.options), **({"host": self.host} if socket else {}),
                 **({"passfile": self.passfile} if self.passfile is not None else {})}
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password if self.passfile is None else None,
            host=None if socket else self.host,
            port=None if socket else self.port,
            database=self.dbname,
            query=query,
        )

    def libpq_env(self) -> dict[str, str]:
        """The parameters as ``PG*`` environment variables, for libpq command-line tools
        (``pg_dump``, ``pgbench``): the same TLS settings as the driver's connections."""
        env = {"PGHOST": self.host, "PGUSER": self.user, "PGDATABASE": self.dbname}
        if self.port is not None:
            env["PGPORT"] = str(self.port)
        if self.passfile is not None:
            env["PGPASSFILE"] = self.passfile
        elif self.password is not None:
            env["PGPASSWORD"] = self.password
        for key, value in self.options:
            name = _LIBPQ_ENV.get(key)
            if name is not None:
                env[name] = value
        return env

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
            options=tuple((str(k), str(v)) for k, v in parts.items()
                          if k not in _OWN_FIELDS and v is not None),
        )


_OWN_FIELDS = frozenset({"host", "port", "user", "dbname", "password"})
# libpq's environment variable for each connection parameter a tool may need (libpq docs, 34.15)
_LIBPQ_ENV = {
    "hostaddr": "PGHOSTADDR", "passfile": "PGPASSFILE", "channel_binding": "PGCHANNELBINDING",
    "service": "PGSERVICE", "options": "PGOPTIONS", "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE", "sslnegotiation": "PGSSLNEGOTIATION", "sslcompression": "PGSSLCOMPRESSION",
    "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcertmode": "PGSSLCERTMODE",
    "sslrootcert": "PGSSLROOTCERT", "sslcrl": "PGSSLCRL", "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI", "requirepeer": "PGREQUIREPEER", "ssl_min_protocol_version":
    "PGSSLMINPROTOCOLVERSION", "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE", "krbsrvname": "PGKRBSRVNAME", "gsslib": "PGGSSLIB",
    "gssdelegation": "PGGSSDELEGATION", "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING", "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS", "require_auth": "PGREQUIREAUTH",
}


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
