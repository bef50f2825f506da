"""The inbound webhook signature the replay suite speaks, and the requests it forges.

A provider signs ``"<unix timestamp>." + body`` with HMAC-SHA256 under the endpoint's shared
secret and sends ``Webhook-Signature: t=<timestamp>,v1=<hex digest>`` (the scheme Stripe and
others use). A target accepts a request only when the digest matches in full (compared in
constant time) and the timestamp is within its tolerance of now, which defeats a replayed
capture. :func:`forgeries` lists the requests a correct target must reject, each with its name.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

__all__ = ["HEADER", "TOLERANCE_SECONDS", "SignedRequest", "forgeries", "sign"]

HEADER = "Webhook-Signature"
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class SignedRequest:
    name: str
    headers: dict[str, str]
    body: bytes


def digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers carrying a valid signature of ``body`` at ``timestamp`` (default: now)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {HEADER: f"t={ts},v1={digest(secret, ts, body)}", "Content-Type": "application/json"}


def forgeries(secret: str, body: bytes, now: int | None = None) -> list[SignedRequest]:
    """Requests a correct target rejects: each breaks exactly one thing of a valid request."""
    now = int(time.time()) if now is None else now
    good = digest(secret, now, body)
    last = "0" if good[-1] != "0" else "1"
    stale = now - 4 * TOLERANCE_SECONDS
    return [
        SignedRequest("missing signature", {"Content-Type": "application/json"}, body),
        SignedRequest("wrong secret", sign(secret + "-other", body, now), body),
        SignedRequest("body changed after signing", sign(secret, body, now), body + b" "),
        # right for the first 63 hex digits: only a full-length comparison rejects it
        SignedRequest("last digest digit flipped", {"Webhook-Signature": f"t={now},v1={good[:-1]}{last}"}, body),
        SignedRequest("digest truncated", {"Webhook-Signature": f"t={now},v1={good[:16]}"}, body),
        SignedRequest("stale timestamp (captured and replayed)", sign(secret, body, stale), body),
        SignedRequest("timestamp from the future", sign(secret, body, now + 4 * TOLERANCE_SECONDS), body),
        SignedRequest("garbled header", {"Webhook-Signature": "v1"}, body),
    ]
