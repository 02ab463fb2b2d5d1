"""Cryptocurrency addresses: Bitcoin (base58check P2PKH/P2SH, bech32/bech32m segwit) and
Ethereum (hex with the EIP-55 mixed-case checksum).

Implemented from the specifications (BIP 173, BIP 350, EIP-55) because the only checks
needed are a few dozen lines, and Keccak-256 is not in hashlib (``sha3_256`` pads
differently). The Keccak here is pure Python and runs only on mixed-case Ethereum input.
"""

from __future__ import annotations

import hashlib
import re

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_IDX = {c: i for i, c in enumerate(_B58)}
# Mainnet P2PKH, P2SH; testnet P2PKH, P2SH.
_BTC_VERSIONS = {0x00: "p2pkh", 0x05: "p2sh", 0x6F: "p2pkh-test", 0xC4: "p2sh-test"}


def b58decode(s: str) -> bytes:
    n = 0
    for c in s:
        n = n * 58 + _B58_IDX[c]
    pad = len(s) - len(s.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * pad + body


def _btc_base58(v: str) -> str:
    if not 25 <= len(v) <= 35 or any(c not in _B58_IDX for c in v):
        raise ValueError("not a base58 Bitcoin address")
    raw = b58decode(v)
    if len(raw) != 25:
        raise ValueError("a base58 Bitcoin address decodes to 25 bytes")
    payload, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        raise ValueError("Bitcoin address checksum does not match")
    if payload[0] not in _BTC_VERSIONS:
        raise ValueError(f"unknown Bitcoin address version byte {payload[0]}")
    return v  # base58 is case-sensitive: the input is already canonical


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_IDX = {c: i for i, c in enumerate(_BECH32)}
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _convertbits(data: list[int], frombits: int, tobits: int) -> list[int] | None:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def _btc_bech32(v: str) -> str:
    if v.lower() != v and v.upper() != v:
        raise ValueError("bech32 addresses are not mixed-case")
    v = v.lower()
    hrp, _, data = v.rpartition("1")
    if hrp not in ("bc", "tb") or len(v) > 90 or len(data) < 6:
        raise ValueError("not a Bitcoin bech32 address")
    try:
        values = [_BECH32_IDX[c] for c in data]
    except KeyError:
        raise ValueError("invalid bech32 character") from None
    const = _polymod([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values)
    witver = values[0]
    if const != (_BECH32_CONST if witver == 0 else _BECH32M_CONST):
        raise ValueError("bech32 checksum does not match")
    prog = _convertbits(values[1:-6], 5, 8)
    if prog is None or not 2 <= len(prog) <= 40 or witver > 16:
        raise ValueError("invalid segwit program")
    if witver == 0 and len(prog) not in (20, 32):
        raise ValueError("segwit v0 programs are 20 or 32 bytes")
    return v


def clean_btc(value: str) -> str:
    v = value.strip()
    if v.lower().startswith("bitcoin:"):  # BIP 21 URI
        v = v[8:].split("?", 1)[0]
    if v[:3].lower() in ("bc1", "tb1"):
        return _btc_bech32(v)
    return _btc_base58(v)


# ---------------------------------------------------------------- Ethereum
_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14]
_M = (1 << 64) - 1


def _rol(x: int, n: int) -> int:
    return ((x << n) | (x >> (64 - n))) & _M if n else x


def _keccak_f(a: list[int]) -> None:
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a[:] = [a[i] ^ d[i % 5] for i in range(25)]
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                b[y + 5 * ((2 * x + 3 * y) % 5)] = _rol(a[x + 5 * y], _ROT[x + 5 * y])
        a[:] = [b[i] ^ (~b[(i % 5 + 1) % 5 + 5 * (i // 5)] & b[(i % 5 + 2) % 5 + 5 * (i // 5)]) for i in range(25)]
        a[0] ^= rc


def keccak256(data: bytes) -> bytes:
    rate = 136
    msg = bytearray(data) + b"\x01" + b"\x00" * ((-len(data) - 1) % rate)
    msg[-1] |= 0x80
    state = [0] * 25
    for off in range(0, len(msg), rate):
        block = msg[off: off + rate]
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(block[8 * i: 8 * i + 8], "little")
        _keccak_f(state)
    return b"".join(s.to_bytes(8, "little") for s in state[:4])


def eip55(addr40: str) -> str:
    """Mixed-case checksum form of a lowercase 40-hex-digit address."""
    h = keccak256(addr40.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(h[i], 16) >= 8 else c for i, c in enumerate(addr40))


_ETH_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


def clean_eth(value: str) -> str:
    v = value.strip()
    if v.lower().startswith("ethereum:"):  # EIP-681 URI
        v = v[9:].split("@", 1)[0].split("?", 1)[0].split("/", 1)[0]
    if len(v) == 40:
        v = "0x" + v
    if v[:2] == "0X":
        v = "0x" + v[2:]
    if not _ETH_RE.match(v):
        raise ValueError("an Ethereum address is 0x and 40 hexadecimal digits")
    body = v[2:]
    low = body.lower()
    # All-lowercase and all-uppercase carry no checksum (EIP-55); mixed case must match it.
    if body != low and body != body.upper() and eip55(low) != v:
        raise ValueError("Ethereum address fails its EIP-55 mixed-case checksum")
    return "0x" + low


def matchable_eth(v: str) -> bool:
    # The zero address is a burn/placeholder seen in every chain dataset.
    return v != "0x" + "0" * 40
