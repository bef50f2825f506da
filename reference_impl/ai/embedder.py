"""A deterministic local embedder: hashed n-grams into a fixed-size, L2-normalised vector.

No model download is possible (or wanted) in a test run, so the reference embeds text the way a
feature hasher does: each n-gram of the lower-cased text is hashed (BLAKE2b, salted with the
model version) to one of ``DIMENSIONS`` buckets with a sign, counts are summed and the vector is
normalised. Near-identical texts get near-identical vectors, which is what the isolation and
relevance suites need. Version 1 hashes character trigrams; version 2 hashes words and character
4-grams under another salt, so its vectors live in a different space: comparing a version-1
vector with a version-2 one is meaningless, which is exactly what the versioning suite guards.
A target plugs in its own embedder by overriding ``RetrievalOperations.embedder``.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

__all__ = ["DIMENSIONS", "MODEL", "HashedNgramEmbedder", "vector_literal"]

DIMENSIONS = 256
MODEL = "hash-ngram"
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class HashedNgramEmbedder:
    version: str = "1"
    model: str = MODEL
    dimensions: int = DIMENSIONS

    def features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        joined = " ".join(words)
        if self.version == "1":
            return [joined[i:i + 3] for i in range(max(len(joined) - 2, 0))]
        if self.version == "2":
            grams = [joined[i:i + 4] for i in range(max(len(joined) - 3, 0))]
            return grams + [f"w:{w}" for w in words]
        raise ValueError(f"embedding model {self.model} has no version {self.version!r} "
                         "(versions: 1, 2)")

    def embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        salt = f"{self.model}/{self.version}".encode()[:16]
        for feature in self.features(text):
            digest = hashlib.blake2b(feature.encode(), digest_size=8, salt=salt).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dimensions
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0:
            vector[0] = 1.0   # an empty text still gets a valid unit vector
            return vector
        return [v / norm for v in vector]


def vector_literal(values: list[float]) -> str:
    """pgvector's text form, e.g. ``[0.1,0.2]`` (sent as text, cast by the server)."""
    return "[" + ",".join(f"{v:.6f}" for v in values) + "]"
