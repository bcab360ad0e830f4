"""Near-duplicate detection: word shingles, MinHash signatures, LSH band keys.

A syndicated copy, a reprint or an AMP twin shares most of its 5-word shingles with the
original even after boilerplate was added or removed, a paragraph trimmed or the
headline rewritten. MinHash summarises a body's shingle set in 128 numbers;
banding them gives 32 keys such that two bodies with Jaccard similarity above ~0.42 share
a key with high probability, so candidates come from an index lookup, never from
comparing every stored pair. Candidates are then confirmed on the exact shingle sets.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

# Words per shingle: long enough that shared shingles mean shared sentences, short
# enough that a light edit only breaks the few shingles around it.
SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
# Confirmation on exact shingle sets: a copy shares most shingles with the original
# (Jaccard), or one text is mostly contained in the other (a trimmed reprint).
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
# Bodies with fewer shingles than this are not compared (short stubs look alike).
MIN_SHINGLES = 20

_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(body: str | None) -> frozenset[str]:
    """The set of overlapping 5-word sequences of the body's casefolded words."""
    if not body:
        return frozenset()
    words = _WORD.findall(body.casefold())
    if len(words) < SHINGLE_WORDS:
        return frozenset()
    return frozenset(
        " ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
    )


# MinHash family h_i(x) = ((a_i * x + b_i) mod p) & 0xFFFFFFFF over a 32-bit SHA-1 prefix
# of each shingle, a_i and b_i drawn once from a fixed seed: stored band keys must keep
# matching signatures computed later, so none of this may change between releases.
_PRIME = (1 << 61) - 1
_MAX_HASH = np.uint64((1 << 32) - 1)
_SEED = 1


@lru_cache(maxsize=1)
def _permutations() -> tuple[Any, Any]:
    gen = np.random.RandomState(_SEED)
    a = gen.randint(1, _PRIME, size=NUM_PERM, dtype=np.uint64)
    b = gen.randint(0, _PRIME, size=NUM_PERM, dtype=np.uint64)
    return a, b


def signature(sh: frozenset[str]) -> list[int]:
    """The MinHash signature (128 unsigned 32-bit values) of a shingle set.

    Vectorised with numpy (a shingles x permutations matrix, ~0.3 ms for 1,000
    shingles); uint64 products wrap around, which keeps the family well mixed."""
    a, b = _permutations()
    hv = np.fromiter(
        (int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little") for s in sh),
        dtype=np.uint64,
        count=len(sh),
    )
    with np.errstate(over="ignore"):
        values = ((hv[:, None] * a + b) % np.uint64(_PRIME)) & _MAX_HASH
    return [int(v) for v in values.min(axis=0)]


def band_keys(sig: list[int]) -> list[int]:
    """One 63-bit key per band of the signature (band number included, so keys of
    different bands never collide in one index)."""
    keys = []
    for b in range(BANDS):
        chunk = sig[b * ROWS : (b + 1) * ROWS]
        digest = hashlib.blake2b(
            b.to_bytes(2, "big") + b"".join(v.to_bytes(4, "big") for v in chunk), digest_size=8
        ).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


@dataclass(frozen=True)
class Similarity:
    """How much two bodies share, on their exact shingle sets."""

    jaccard: float
    containment: float

    @property
    def near_duplicate(self) -> bool:
        return self.jaccard >= MIN_JACCARD or self.containment >= MIN_CONTAINMENT


def similarity(a: frozenset[str], b: frozenset[str]) -> Similarity:
    """Jaccard and containment (shared / smaller set) of two shingle sets."""
    if len(a) < MIN_SHINGLES or len(b) < MIN_SHINGLES:
        return Similarity(0.0, 0.0)
    shared = len(a & b)
    return Similarity(shared / len(a | b), shared / min(len(a), len(b)))
