"""PSI core: results equal a plain set intersection, nothing leaves in clear, framing
is checked, and the protocol refuses a peer that oversends."""

from __future__ import annotations

import hashlib
import random

import pytest
from nacl.bindings import crypto_scalarmult

from grotius.exc import InvalidInput
from grotius.matching import psi, wire
from grotius.matching.psi import Engine, Party, encode, hash_to_curve, intersect_local, truncation

P = 2**255 - 19


def _on_curve(u: int) -> bool:
    v = (u * u * u + 486662 * u * u + u) % P
    return pow(v, (P - 1) // 2, P) == 1


def test_hash_to_curve_lands_on_the_curve_not_the_twist() -> None:
    for i in range(200):
        u = int.from_bytes(hash_to_curve(f"value-{i}".encode()), "little")
        assert 0 < u < P
        assert _on_curve(u)


def test_hash_to_curve_is_deterministic_and_domain_separated() -> None:
    assert hash_to_curve(b"x") == hash_to_curve(b"x")
    assert hash_to_curve(b"x") != hash_to_curve(b"y")
    # not the plain digest: the domain prefix is part of the input
    plain = int.from_bytes(hashlib.sha512(b"x").digest()[:32], "little") & ((1 << 255) - 1)
    assert int.from_bytes(hash_to_curve(b"x"), "little") != plain % P


def test_masking_commutes() -> None:
    a, b = bytes(range(32)), bytes(range(1, 33))
    h = hash_to_curve(b"+4915112345678")
    assert crypto_scalarmult(a, crypto_scalarmult(b, h)) == crypto_scalarmult(b, crypto_scalarmult(a, h))


@pytest.mark.parametrize("workers", [1, 2])
def test_intersection_equals_plain_set_intersection(workers: int) -> None:
    rng = random.Random(7)
    universe = [encode("phone-number", f"+49151{rng.randrange(10**7):07d}") for _ in range(30000)]
    a = rng.sample(universe, 9000) + [universe[0]]  # a duplicate is dropped, not counted twice
    b = rng.sample(universe, 11000)
    with Engine(workers=workers, inline_below=2048) as engine:
        run = intersect_local(a, b, engine)
    expected = set(a) & set(b)
    assert set(run.a_hits) == expected
    assert set(run.b_hits) == expected
    assert len(run.a_hits) == len(expected)


def test_empty_and_disjoint_sets() -> None:
    with Engine(workers=1) as engine:
        assert intersect_local([], [b"x"], engine).a_hits == []
        run = intersect_local([b"a", b"b"], [b"c"], engine)
    assert run.a_hits == [] and run.b_hits == []


def test_no_identifier_appears_in_the_frames() -> None:
    values = [encode("email-addr", f"person{i}@example.org") for i in range(50)]
    a, b = Party(values[:30]), Party(values[20:])
    a.peer_size, b.peer_size = b.size, a.size
    engine = Engine(workers=1)
    frames: list[bytes] = []
    session = b"s" * 16
    for me, peer in ((a, b), (b, a)):
        for chunk in me.masked(engine):
            frames.append(wire.encode_frame(wire.MASKED, session, 0, chunk))
            reply = peer.answer(engine, chunk)
            frames.append(wire.answer(session, 0, reply, len(chunk) // 32))
            me.receive_answers(reply)
    blob = b"".join(frames)
    for v in values:
        _, plain = psi.decode(v)
        assert plain.encode() not in blob
        assert plain.split("@")[0].encode() not in blob
        assert hash_to_curve(v) not in blob  # nor the unmasked point
    assert set(a.intersection()) == set(values[20:30])


def test_peer_cannot_send_more_points_than_announced() -> None:
    b = Party([b"x"])
    b.peer_size = 2
    engine = Engine(workers=1)
    points = b"".join(engine.hash_and_mask(bytes(32), [b"1", b"2", b"3"]))
    with pytest.raises(InvalidInput, match="more points than the size it announced"):
        b.answer(engine, points)


def test_small_order_point_is_refused() -> None:
    b = Party([b"x"])
    b.peer_size = 1
    with pytest.raises(InvalidInput, match="small order"):
        b.answer(Engine(workers=1), bytes(32))


def test_intersection_before_completion_is_refused() -> None:
    a = Party([b"x"])
    with pytest.raises(InvalidInput, match="incomplete"):
        a.intersection()


def test_frames_are_validated() -> None:
    f = wire.encode_frame(wire.MASKED, b"s" * 16, 5, bytes(64))
    back = wire.decode_frame(f)
    assert (back.kind, back.offset, back.count, back.payload) == (wire.MASKED, 5, 2, bytes(64))
    with pytest.raises(InvalidInput, match="bad magic"):
        wire.decode_frame(b"XXXX" + f[4:])
    with pytest.raises(InvalidInput, match="does not match"):
        wire.decode_frame(f[:-1])
    with pytest.raises(InvalidInput, match="shorter than its header"):
        wire.decode_frame(b"GPSI")


def test_truncation_keeps_false_matches_below_two_to_minus_forty() -> None:
    assert truncation(10, 10) == 8
    assert truncation(1_000_000, 1_000_000) == 10
    assert truncation(2**40, 2**40) == 15
