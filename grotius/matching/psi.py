"""Private set intersection by elliptic-curve Diffie-Hellman over X25519 (mutual output).

Each party hashes its values to points of Curve25519, raises them to a fresh secret
scalar, and sends them (shuffled). Each party raises the other's points to its own
scalar and sends back a truncation of the result in the order received. Because X25519
scalar multiplications commute, a value held by both sides yields the same double-masked
point on both sides; everything else stays a pseudo-random point under the decisional
Diffie-Hellman assumption. The security argument is in docs/matching.md.

This module is transport-free: :class:`Party` produces and consumes the byte payloads
of :mod:`grotius.matching.wire` frames, and :class:`Engine` spreads the curve work over
all cores. :func:`intersect_local` runs both parties in one process (tests, benchmark).
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import random
import secrets
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import gmpy2
from nacl.bindings import crypto_scalarmult

from grotius.exc import InvalidInput

POINT = 32
#: domain separation: a value hashed for Grotius PSI never equals a hash used elsewhere
DOMAIN = b"grotius/psi/x25519-tai/v1\x00"
_P = gmpy2.mpz(2**255 - 19)
_A = 486662
_MASK255 = (1 << 255) - 1
#: statistical security for the final comparison of truncated values (false-match bound)
FALSE_MATCH_BITS = 40
#: values per task handed to a worker process
CHUNK = 4096
#: points per wire frame (2 MiB of masked points)
FRAME = 65536


def hash_to_curve(value: bytes) -> bytes:
    """Map ``value`` to the u-coordinate of a point on Curve25519 (not its twist).

    Try-and-increment: a SHA-512 digest gives two 255-bit candidates; the first whose
    curve equation ``u^3 + A u^2 + u`` is a quadratic residue is on the curve. The
    output is then uniform over the curve's u-coordinates (statistical distance about
    2^-250 from masking 256 bits to 255), which is what the random-oracle argument
    needs; rejecting twist points keeps every masked point in one group, so the
    curve/twist bit of a non-matching value never reaches the partner.
    """
    digest = hashlib.sha512(DOMAIN + value).digest()
    counter = 0
    while True:
        for offset in (0, 32):
            u = gmpy2.mpz(int.from_bytes(digest[offset : offset + 32], "little") & _MASK255) % _P
            # u = 0 is the point of order 2; reject it so the product is never the identity
            if u and gmpy2.legendre(u * (u * (u + _A) + 1) % _P, _P) == 1:
                return int(u).to_bytes(POINT, "little")
        counter += 1
        digest = hashlib.sha512(DOMAIN + counter.to_bytes(4, "little") + value).digest()


def _mul(key: bytes, point: bytes) -> bytes:
    try:
        return crypto_scalarmult(key, point)
    except RuntimeError:
        # libsodium refuses a result of all zeros: the input had small order
        raise InvalidInput("received a point of small order", property="point") from None


def hash_and_mask(key: bytes, values: Sequence[bytes]) -> bytes:
    """``H(v)^key`` for each value, concatenated (32 bytes each)."""
    out = bytearray()
    for value in values:
        out += _mul(key, hash_to_curve(value))
    return bytes(out)


def mask(key: bytes, points: bytes, keep: int = POINT) -> bytes:
    """Raise each 32-byte point to ``key`` and keep the first ``keep`` bytes of each result."""
    if len(points) % POINT:
        raise InvalidInput("point payload is not a multiple of 32 bytes", length=len(points))
    out = bytearray()
    for i in range(0, len(points), POINT):
        out += _mul(key, points[i : i + POINT])[:keep]
    return bytes(out)


def truncation(size_a: int, size_b: int) -> int:
    """Bytes kept of each double-masked point so that any false match has probability at
    most 2^-40 over the whole run: a pair collides with probability 2^-8L, there are
    size_a * size_b pairs."""
    bits = FALSE_MATCH_BITS + math.log2(max(1, size_a)) + math.log2(max(1, size_b))
    return min(POINT, max(8, math.ceil(bits / 8)))


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork copies a web server's threads and locks; forkserver starts clean workers
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class Engine:
    """Runs the curve work on ``workers`` processes (default: every core).

    Small jobs stay in the calling process: starting workers costs more than a few
    thousand multiplications.
    """

    def __init__(self, workers: int | None = None, inline_below: int = 2 * CHUNK) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.inline_below = inline_below
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_pool_context())
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hash_and_mask(self, key: bytes, values: Sequence[bytes]) -> Iterator[bytes]:
        """Masked points in chunks of at most :data:`CHUNK` values, in input order."""
        chunks = [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]
        if len(values) < self.inline_below or self.workers == 1:
            return (hash_and_mask(key, c) for c in chunks)
        return self._executor().map(hash_and_mask, [key] * len(chunks), chunks)

    def mask(self, key: bytes, points: bytes, keep: int = POINT) -> bytes:
        n = len(points) // POINT
        if n < self.inline_below or self.workers == 1:
            return mask(key, points, keep)
        step = CHUNK * POINT
        parts = [points[i : i + step] for i in range(0, len(points), step)]
        return b"".join(self._executor().map(mask, [key] * len(parts), parts, [keep] * len(parts)))


@dataclass
class Party:
    """One side of a mutual-output PSI run.

    ``values`` are the encoded identifiers (see :func:`encode`). Duplicates are dropped:
    a set has no multiplicities, and keeping them would tell the partner how often a
    value occurs. The party shuffles its values before masking so that the order of the
    masked points says nothing about the input order.
    """

    values: list[bytes]
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    peer_size: int | None = None
    _answers_from_peer: list[bytes] = field(default_factory=list, repr=False)
    _answers_to_peer: set[bytes] = field(default_factory=set, repr=False)
    _received: int = 0

    def __post_init__(self) -> None:
        unique = list(dict.fromkeys(self.values))
        random.SystemRandom().shuffle(unique)
        self.values = unique

    @property
    def size(self) -> int:
        return len(self.values)

    def keep(self) -> int:
        if self.peer_size is None:
            raise InvalidInput("peer size unknown: the hello message has not arrived")
        return truncation(self.size, self.peer_size)

    def masked(self, engine: Engine, frame: int = FRAME) -> Iterator[bytes]:
        """Message 1 payloads of at most ``frame`` points: ``H(v)^k`` for every own
        value, in the shuffled order."""
        buf: list[bytes] = []
        have = 0
        for chunk in engine.hash_and_mask(self.key, self.values):
            buf.append(chunk)
            have += len(chunk) // POINT
            if have >= frame:
                yield b"".join(buf)
                buf, have = [], 0
        if buf:
            yield b"".join(buf)

    def answer(self, engine: Engine, points: bytes) -> bytes:
        """Message 2 payload: the peer's masked points raised to our key, truncated.

        Answers must be produced in the order the points arrived; the peer relies on it.
        """
        if self.peer_size is None:
            raise InvalidInput("peer size unknown: the hello message has not arrived")
        n = len(points) // POINT
        if self._received + n > self.peer_size:
            raise InvalidInput(
                "peer sent more points than the size it announced",
                announced=self.peer_size,
                received=self._received + n,
            )
        keep = self.keep()
        out = engine.mask(self.key, points, keep)
        self._received += n
        self._answers_to_peer.update(out[i : i + keep] for i in range(0, len(out), keep))
        return out

    def receive_answers(self, payload: bytes) -> None:
        """Message 2 from the peer: our own points double-masked, in our order."""
        keep = self.keep()
        if len(payload) % keep:
            raise InvalidInput("answer payload length is not a multiple of the truncation", length=len(payload), keep=keep)
        got = [payload[i : i + keep] for i in range(0, len(payload), keep)]
        if len(self._answers_from_peer) + len(got) > self.size:
            raise InvalidInput("peer answered more points than were sent", sent=self.size)
        self._answers_from_peer.extend(got)

    @property
    def complete(self) -> bool:
        return (
            self.peer_size is not None
            and self._received == self.peer_size
            and len(self._answers_from_peer) == self.size
        )

    def intersection(self) -> list[bytes]:
        """The own values that the peer also holds (only once both messages are complete)."""
        if not self.complete:
            raise InvalidInput(
                "exchange incomplete",
                points_received=self._received,
                peer_size=self.peer_size,
                answers_received=len(self._answers_from_peer),
                size=self.size,
            )
        theirs = self._answers_to_peer
        return [v for v, a in zip(self.values, self._answers_from_peer) if a in theirs]


def encode(kind: str, value: str) -> bytes:
    """The byte string hashed for a typed, already normalised value.

    The type is part of the input so a phone number never meets an account number with
    the same digits.
    """
    return kind.encode() + b"\x1f" + value.encode()


def decode(item: bytes) -> tuple[str, str]:
    kind, _, value = item.partition(b"\x1f")
    return kind.decode(), value.decode()


@dataclass
class LocalRun:
    a_hits: list[bytes]
    b_hits: list[bytes]
    bytes_a_to_b: int
    bytes_b_to_a: int


def intersect_local(a: Iterable[bytes], b: Iterable[bytes], engine: Engine) -> LocalRun:
    """Both parties in one process, through the real wire frames (tests, benchmark)."""
    from grotius.matching import wire

    pa, pb = Party(list(a)), Party(list(b))
    session = secrets.token_bytes(16)
    sent = {"a": 0, "b": 0}

    def send(who: str, frame: bytes) -> wire.Frame:
        sent[who] += len(frame)
        return wire.decode_frame(frame)

    pb.peer_size = send("a", wire.hello(session, pa.size)).count
    pa.peer_size = send("b", wire.hello(session, pb.size)).count
    for me, peer, me_name, peer_name in ((pa, pb, "a", "b"), (pb, pa, "b", "a")):
        offset = 0
        for chunk in me.masked(engine):
            f = send(me_name, wire.encode_frame(wire.MASKED, session, offset, chunk))
            offset += len(chunk) // POINT
            reply = peer.answer(engine, f.payload)
            back = send(peer_name, wire.answer(session, f.offset, reply, f.count))
            me.receive_answers(back.payload)
    return LocalRun(pa.intersection(), pb.intersection(), sent["a"], sent["b"])
