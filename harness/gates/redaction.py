"""Keeping secrets out of packets, as defence in depth.

The plugin already keeps passwords out of what it records; a packet is published, so everything
written into one passes through here once more: text through :func:`harness.secrets.redact`
(URL passwords, ``password=`` pairs, and the known secrets), and binary attachments are withheld
whole when a known secret's bytes occur in them (blanking bytes would corrupt the file and still
say where the secret was).

The known secrets are the target spec's DSN password and the environment's ``HARNESS_DSN``
(password and the whole DSN) and ``PGPASSWORD``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.secrets import ConnParams, redact

if TYPE_CHECKING:
    from harness.target import TargetSpec

__all__ = ["Redactor"]

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/yaml", "image/svg+xml")


@dataclass(frozen=True)
class Redactor:
    secrets: tuple[str, ...] = ()

    @classmethod
    def for_target(cls, target: TargetSpec | None) -> Redactor:
        found: list[str] = []
        if target is not None and target.database.dsn is not None and target.database.dsn.password:
            found.append(target.database.dsn.password)
        dsn = os.environ.get("HARNESS_DSN")
        if dsn:
            found.append(dsn)
            try:
                password = ConnParams.from_dsn(dsn).password
            except Exception:  # a malformed DSN: the whole string is already listed
                password = None
            if password:
                found.append(password)
        if os.environ.get("PGPASSWORD"):
            found.append(os.environ["PGPASSWORD"])
        # longest first, so that a DSN is replaced whole before its password alone
        return cls(tuple(sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)))

    def text(self, text: str) -> str:
        return redact(text, *self.secrets)

    def known(self, text: str) -> str:
        """Replaces only the known secrets: for rendered documents, whose data was redacted
        already and whose markup a pattern such as ``password=\\S+`` could cut."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def value(self, value: Any) -> Any:
        """Redacts every string inside nested dicts, lists and tuples."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def file_bytes(self, data: bytes, content_type: str) -> bytes | None:
        """The bytes to publish for an attachment, or None when it must be withheld."""
        if content_type.startswith(_TEXT_TYPES):
            try:
                return self.text(data.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                pass
        if any(s.encode("utf-8") in data for s in self.secrets):
            return None
        return data

    def leaks(self, data: bytes) -> bool:
        return any(s.encode("utf-8") in data for s in self.secrets)
