"""Binary frames of the PSI exchange.

A frame is a fixed 38-byte header and a payload of raw points::

    magic "GPSI" | version u8 | kind u8 | session 16 bytes | offset u64 | count u32 | length u32

``offset`` is the index of the first point of the payload in the sender's shuffled
list, so a lost or repeated frame can be re-sent or ignored by position (the masking is
deterministic for a session key, a resent frame carries the same bytes). ``count`` is
the number of points in the payload, or the announced set size in a HELLO frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from grotius.exc import InvalidInput

MAGIC = b"GPSI"
VERSION = 1
HELLO, MASKED, ANSWER = 1, 2, 3
KINDS = {HELLO: "hello", MASKED: "masked", ANSWER: "answer"}
_HEADER = struct.Struct("<4sBB16sQII")
HEADER_SIZE = _HEADER.size


@dataclass(frozen=True)
class Frame:
    kind: int
    session: bytes
    offset: int
    count: int
    payload: bytes


def encode_frame(kind: int, session: bytes, offset: int, payload: bytes, count: int | None = None) -> bytes:
    if kind == MASKED:
        count = len(payload) // 32 if count is None else count
    elif count is None:
        raise InvalidInput("a frame of this kind needs an explicit count", kind=KINDS.get(kind, kind))
    return _HEADER.pack(MAGIC, VERSION, kind, session, offset, count, len(payload)) + payload


def hello(session: bytes, size: int) -> bytes:
    return encode_frame(HELLO, session, 0, b"", count=size)


def answer(session: bytes, offset: int, payload: bytes, count: int) -> bytes:
    return encode_frame(ANSWER, session, offset, payload, count=count)


def decode_frame(data: bytes) -> Frame:
    if len(data) < HEADER_SIZE:
        raise InvalidInput("PSI frame shorter than its header", length=len(data))
    magic, version, kind, session, offset, count, length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise InvalidInput("not a PSI frame (bad magic)", position=0)
    if version != VERSION:
        raise InvalidInput("unsupported PSI frame version", version=version)
    if kind not in KINDS:
        raise InvalidInput("unknown PSI frame kind", kind=kind)
    payload = data[HEADER_SIZE:]
    if len(payload) != length:
        raise InvalidInput("PSI frame payload length does not match its header", declared=length, actual=len(payload))
    if kind == MASKED and length != 32 * count:
        raise InvalidInput("masked frame must carry 32 bytes per point", count=count, length=length)
    if kind == ANSWER and count and length % count:
        raise InvalidInput("answer frame length is not a multiple of its count", count=count, length=length)
    return Frame(kind, session, offset, count, payload)
