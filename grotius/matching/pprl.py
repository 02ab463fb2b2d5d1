"""Privacy-preserving fuzzy name matching: keyed, salted and balanced Bloom-filter
encodings (cryptographic long-term keys, CLKs) compared by the Dice coefficient.

Two nodes that share an agreement key encode their names locally and exchange only the
encodings; similar names give similar bit patterns, so a fuzzy match is possible without
showing the names. This is the standard record-linkage technique (Schnell, Bachteler and
Reiher 2009) with the hardenings the literature recommends:

- keyed: positions come from HMAC-SHA512 under the agreement key, so an outsider cannot
  build a dictionary of encodings; a partner that holds the key still can (see the
  weaknesses in docs/matching.md);
- random hashing: each q-gram's positions are read from its own HMAC output instead of
  double hashing, which the Kroll-Steinmetzer attack exploits;
- salted: an optional per-record salt (e.g. the year of birth) enters every HMAC, so
  equal names with different salts share no bits and frequency analysis across salts
  fails;
- balanced: the filter is concatenated with its complement and permuted under the key,
  so every encoding has the same number of ones and the weight no longer tells the
  length of the name.

The q-grams come from the same cross-script normalisation as :mod:`names` (folded Latin
tokens and, for scripts without vowels, consonant skeletons), so "Владимир Путин" and
"Vladimir Putin" encode alike.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass, field

import numpy as np

from grotius.exc import InvalidInput
from grotius.matching import names


def _qgrams(text: str, q: int = 2) -> set[str]:
    padded = f"_{text}_"
    return {padded[i : i + q] for i in range(len(padded) - q + 1)}


def features(name: str) -> set[str]:
    """What gets encoded: bigrams of the folded tokens (order-free, since each token is
    padded on its own) and of the consonant skeletons, in separate namespaces."""
    f = names.form(name)
    out: set[str] = set()
    for t in f.folded:
        out |= {"f:" + g for g in _qgrams(t)}
    for t in f.tokens:
        sk = names.skeleton(t)
        if sk:
            out |= {"s:" + g for g in _qgrams(sk)}
    return out


@dataclass(frozen=True)
class Encoder:
    """Encodes names under one agreement key. ``bits`` is the filter length before
    balancing (the encoding has ``2 * bits`` bits), ``k`` the positions per q-gram."""

    key: bytes = field(repr=False)
    bits: int = 1024
    k: int = 15
    balanced: bool = True

    def __post_init__(self) -> None:
        if len(self.key) < 32:
            raise InvalidInput("the encoding key must have at least 32 bytes", length=len(self.key))
        if self.bits & (self.bits - 1) or not 64 <= self.bits <= 65536:
            raise InvalidInput("bits must be a power of two between 64 and 65536", bits=self.bits)
        if not 1 <= self.k <= 32:
            raise InvalidInput("k must be between 1 and 32", k=self.k)

    def _positions(self, gram: str, salt: str) -> list[int]:
        digest = hmac.new(self.key, f"{salt}\x1f{gram}".encode(), hashlib.sha512).digest()
        # 32 independent 16-bit draws; bits is a power of two <= 2^16, so no modulo bias
        return [int.from_bytes(digest[2 * i : 2 * i + 2], "big") % self.bits for i in range(self.k)]

    def _permutation(self) -> np.ndarray:
        rng = random.Random(hmac.new(self.key, b"grotius/pprl/permutation", hashlib.sha256).digest())
        perm = list(range(2 * self.bits))
        rng.shuffle(perm)
        return np.asarray(perm, dtype=np.int64)

    def encode(self, name: str, salt: str = "") -> int:
        """The encoding as an integer bit set (``2 * bits`` bits when balanced)."""
        filt = np.zeros(self.bits, dtype=np.uint8)
        for g in features(name):
            filt[self._positions(g, salt)] = 1
        if self.balanced:
            full = np.concatenate([filt, 1 - filt])
            filt = np.empty_like(full)
            filt[self._perm] = full
        return int.from_bytes(np.packbits(filt, bitorder="little").tobytes(), "little")

    @property
    def _perm(self) -> np.ndarray:
        cached = self.__dict__.get("_perm_cache")
        if cached is None:
            cached = self._permutation()
            object.__setattr__(self, "_perm_cache", cached)
        return cached

    def to_bytes(self, encoding: int) -> bytes:
        return encoding.to_bytes((2 if self.balanced else 1) * self.bits // 8, "little")


def dice(a: int, b: int) -> float:
    """2|A∩B| / (|A| + |B|) of two bit sets."""
    total = a.bit_count() + b.bit_count()
    return 2 * (a & b).bit_count() / total if total else 0.0


#: Dice threshold on balanced 2 x 1024-bit encodings, chosen on the labelled pair set
SAME_NAME_DICE = 0.85
