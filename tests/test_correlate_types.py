"""Normalisation of every value kind, with the spellings real feeds and partner mails use."""

from __future__ import annotations

import pytest

from grotius.correlate.kinds.crypto import eip55, keccak256
from grotius.correlate.kinds.net import parent_domains, reversed_labels, url_host
from grotius.correlate.types import registry
from grotius.exc import InvalidInput

SAME = [
    # kind, canonical, variants
    ("ipv4", "192.0.2.1", ["192.0.2.1", " 192.0.2.1 ", "192[.]0[.]2[.]1", "192.0.2.1/32", "[192.0.2.1]"]),
    ("ipv6", "2001:db8::1", ["2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]", "2001:db8::1/128"]),
    ("ipv4-cidr", "203.0.113.0/24", ["203.0.113.0/24", "203.0.113.77/24", "203[.]0.113.0/24"]),
    ("ipv6-cidr", "2001:db8::/32", ["2001:DB8::/32", "2001:db8:0:0::5/32"]),
    ("domain", "update-check.tidewater.example", ["Update-Check.Tidewater.Example.", "update-check[.]tidewater[.]example", " update-check.tidewater.example "]),
    ("domain", "xn--bcher-kva.example", ["bücher.example", "BÜCHER.example", "xn--bcher-kva.example", "bücher\u3002example"]),
    ("domain", "_dmarc.example.org", ["_DMARC.example.org"]),
    ("url", "http://evil.example/payload.exe", [
        "http://evil.example/payload.exe", "HTTP://EVIL.EXAMPLE:80/payload.exe", "hxxp://evil[.]example/payload.exe",
        "http://evil.example/a/../payload.exe", "http://evil.example/./payload.exe#top", "evil.example/payload.exe",
        "http://evil.example/%70ayload.exe",
    ]),
    ("url", "https://evil.example/", ["https://evil.example", "https://EVIL.example:443", "hxxps[:]//evil[.]example"]),
    ("url", "http://evil.example:8080/a?q=%2F", ["http://evil.example:8080/a?q=%2f"]),
    ("url", "http://[2001:db8::1]/x", ["http://[2001:DB8:0::1]/x"]),
    ("url", "http://xn--bcher-kva.example/", ["http://bücher.example"]),
    ("email", "jane.doe@example.org", ["Jane.Doe@Example.ORG", "mailto:jane.doe@example.org", "Jane Doe <jane.doe@example.org>", "jane.doe[@]example[.]org"]),
    ("email", "jane+tag@example.org", ["jane+tag@example.org"]),
    ("md5", "44d88612fea8a8f36de82e1278abb02f", ["44D88612FEA8A8F36DE82E1278ABB02F", "md5:44d88612fea8a8f36de82e1278abb02f", " 44d88612fea8a8f36de82e1278abb02f\n"]),
    ("sha1", "3395856ce81f2b7382dee72602f798b642f14140", ["3395856CE81F2B7382DEE72602F798B642F14140", "sha1:3395856ce81f2b7382dee72602f798b642f14140"]),
    ("sha256", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", ["275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F", "SHA-256:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"]),
    ("sha512", "a" * 64 + "b" * 64, ["A" * 64 + "B" * 64]),
    ("phone", "+31612345678", ["+31 6 12345678", "+31 (0)6 1234 5678", "0031612345678", "+31-6-1234-5678", "tel:+31-6-1234-5678", "+31.6.12.34.56.78"]),
    ("phone", "+12025550123", ["+1 (202) 555-0123", "001 202 555 0123"]),
    ("iban", "NL91ABNA0417164300", ["NL91 ABNA 0417 1643 00", "nl91abna0417164300", "IBAN NL91 ABNA 0417 1643 00", "NL91-ABNA-0417-1643-00"]),
    ("iban", "GB82WEST12345698765432", ["GB82 WEST 1234 5698 7654 32"]),
    ("bic", "DEUTDEFF", ["DEUTDEFF", "deutdeff", "DEUTDEFFXXX", "DEUT DE FF"]),
    ("bic", "DEUTDEFF500", ["deutdeff500"]),
    ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa?amount=1"]),
    ("btc", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"]),
    ("btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"]),
    ("btc", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"]),
    ("eth", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1",
    ]),
    ("mac", "00:1a:2b:3c:4d:5e", ["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e", "001A2B3C4D5E"]),
    ("asn", "AS64496", ["AS64496", "as64496", "ASN 64496", "64496"]),
    ("asn", "AS65546", ["1.10", "AS1.10"]),
    ("mmsi", "244123456", ["244123456", "MMSI 244123456", "mmsi: 244 123 456"]),
    ("imo", "9074729", ["9074729", "IMO 9074729", "imo9074729", "IMO: 9074729"]),
]


@pytest.mark.parametrize("kind,canonical,variants", SAME, ids=[f"{k}:{c[:20]}" for k, c, _ in SAME])
def test_variants_clean_to_one_canonical_form(kind: str, canonical: str, variants: list[str]) -> None:
    for v in variants:
        assert registry.clean(kind, v) == canonical, v
    # idempotent: a clean value cleans to itself
    assert registry.clean(kind, canonical) == canonical


BAD = [
    ("ipv4", "256.1.1.1", "above 255"),
    ("ipv4", "192.168.01.1", "leading zero"),
    ("ipv4", "1.2.3", "dotted-quad"),
    ("ipv4", "192.0.2.0/24", "dotted-quad"),
    ("ipv6", "2001:db8::g", "IPv6"),
    ("ipv6", "fe80::1%eth0", "zone"),
    ("ipv6", "::ffff:192.0.2.1", "IPv4-mapped"),
    ("ipv4-cidr", "192.0.2.0", "/prefix"),
    ("ipv4-cidr", "192.0.2.0/33", "CIDR"),
    ("ipv4-cidr", "2001:db8::/32", "IPv4"),
    ("domain", "-bad.example", "not a domain"),
    ("domain", "a..example", "not a domain"),
    ("domain", "192.0.2.1", "not a domain"),
    ("domain", "*.example.com", "wildcard"),
    ("domain", "x" * 64 + ".example", "not a domain"),
    ("domain", ("a" * 60 + ".") * 5 + "com", "253"),
    ("domain", "xn--zz.example", "punycode"),
    ("url", "//no-scheme/x", "scheme"),
    ("url", "http://", "host"),
    ("url", "http://evil example/", "whitespace"),
    ("url", "http://evil.example:99999/", "URL"),
    ("email", "no-at.example.org", "@"),
    ("email", "a..b@example.org", "local part"),
    ("email", "jane@localhost", "dot"),
    ("md5", "44d88612fea8a8f36de82e1278abb02", "32"),
    ("md5", "z4d88612fea8a8f36de82e1278abb02f", "hexadecimal"),
    ("sha256", "44d88612fea8a8f36de82e1278abb02f", "64"),
    ("phone", "0612345678", "region"),
    ("phone", "+31 6", "phone"),
    ("phone", "+999 123456", "phone"),
    ("iban", "NL91ABNA0417164301", "mod 97"),
    ("iban", "NL91ABNA041716430", "18 characters"),
    ("iban", "US12345678901234567", "does not issue"),
    ("bic", "DEUTQQFF", "country"),
    ("bic", "DEUTDEF", "BIC"),
    ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum"),
    ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", "base58"),
    ("btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"),
    ("btc", "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mixed-case"),
    ("btc", "bc1zw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "checksum"),
    ("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"),
    ("eth", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", "40"),
    ("mac", "00:1a:2b:3c:4d", "12"),
    ("mac", "00:1a-2b:3c:4d:5e", "mixed"),
    ("asn", "AS4294967296", "above"),
    ("asn", "ASfoo", "AS number"),
    ("mmsi", "24412345", "9 digits"),
    ("imo", "9074728", "check digit"),
    ("imo", "IMO 907472", "7 digits"),
]


@pytest.mark.parametrize("kind,value,reason", BAD, ids=[f"{k}:{v[:24]}" for k, v, _ in BAD])
def test_invalid_values_are_refused_with_a_reason(kind: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as e:
        registry.clean(kind, value)
    assert reason.lower() in e.value.message.lower()
    assert e.value.detail["kind"] == kind
    assert registry.try_clean(kind, value) is None
    assert not registry.validate(kind, value)


def test_unknown_kind_and_non_text_are_clear_errors() -> None:
    with pytest.raises(InvalidInput, match="unknown value kind 'vin'"):
        registry.clean("vin", "x")
    with pytest.raises(InvalidInput, match="must be text"):
        registry.clean("ipv4", 12345)  # type: ignore[arg-type]


def test_phone_with_region() -> None:
    assert registry.clean("phone", "06 12345678", region="NL") == "+31612345678"
    assert registry.clean("phone", "(202) 555-0123", region="US") == "+12025550123"


NOT_MATCHABLE = [
    ("ipv4", "10.1.2.3"), ("ipv4", "127.0.0.1"), ("ipv4", "192.168.1.1"), ("ipv4", "0.0.0.0"),
    ("ipv4", "255.255.255.255"), ("ipv4", "169.254.1.1"), ("ipv6", "::1"), ("ipv6", "fe80::1"),
    ("ipv4-cidr", "0.0.0.0/0"), ("ipv4-cidr", "10.0.0.0/16"), ("ipv4-cidr", "64.0.0.0/4"),
    ("domain", "localhost"), ("domain", "printer.local"), ("url", "http://localhost/x"), ("url", "http://10.0.0.1/x"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e"), ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("md5", "0" * 32), ("mac", "ff:ff:ff:ff:ff:ff"), ("mac", "01:00:5e:00:00:01"), ("asn", "AS0"), ("asn", "AS64512"),
    ("asn", "AS23456"), ("mmsi", "123456789"), ("mmsi", "244000000"), ("eth", "0x" + "0" * 40), ("bic", "DEUTDEF0"),
    ("phone", "+11234567890"),
]
MATCHABLE = [
    ("ipv4", "192.0.2.1"), ("ipv4", "203.0.113.5"), ("ipv4", "8.8.8.8"), ("ipv6", "2001:db8::1"),
    ("ipv4-cidr", "203.0.113.0/24"), ("domain", "tidewater.example"), ("url", "http://evil.example/x"),
    ("email", "jane@example.org"), ("md5", "44d88612fea8a8f36de82e1278abb02f"), ("mac", "00:1a:2b:3c:4d:5e"),
    ("asn", "AS64496"), ("mmsi", "244123456"), ("phone", "+31612345678"), ("imo", "9074729"),
]


@pytest.mark.parametrize("kind,value", NOT_MATCHABLE)
def test_valid_but_too_generic_to_correlate(kind: str, value: str) -> None:
    assert not registry.matchable(kind, registry.clean(kind, value))


@pytest.mark.parametrize("kind,value", MATCHABLE)
def test_specific_values_are_matchable(kind: str, value: str) -> None:
    assert registry.matchable(kind, registry.clean(kind, value))


DETECT = [
    ("192.0.2.1", "ipv4"), ("192[.]0[.]2[.]1", "ipv4"), ("198.51.100.0/24", "ipv4-cidr"), ("2001:db8::1", "ipv6"),
    ("2001:db8::/32", "ipv6-cidr"), ("update-check.tidewater.example", "domain"), ("evil[.]example", "domain"),
    ("hxxp://evil[.]example/x", "url"), ("https://evil.example", "url"), ("evil.example/payload.exe", "url"),
    ("jane@example.org", "email"), ("mailto:jane@example.org", "email"),
    ("44d88612fea8a8f36de82e1278abb02f", "md5"), ("3395856ce81f2b7382dee72602f798b642f14140", "sha1"),
    ("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "sha256"), ("ab" * 64, "sha512"),
    ("+31 6 12345678", "phone"), ("0031612345678", "phone"), ("tel:+12025550123", "phone"),
    ("NL91 ABNA 0417 1643 00", "iban"), ("NL91ABNA0417164300", "iban"), ("DEUTDEFF", "bic"), ("DEUTDEFF500", "bic"),
    ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "btc"), ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "btc"),
    ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "eth"), ("00:1a:2b:3c:4d:5e", "mac"), ("001a.2b3c.4d5e", "mac"),
    ("AS64496", "asn"), ("IMO 9074729", "imo"), ("MMSI 244123456", "mmsi"), ("244123456", "mmsi"),
]


@pytest.mark.parametrize("raw,kind", DETECT)
def test_detect_recognises_raw_lines(raw: str, kind: str) -> None:
    assert registry.detect(raw) == kind
    found = registry.detect_clean(raw)
    assert found is not None and found == (kind, registry.clean(kind, raw))


@pytest.mark.parametrize("raw", [
    "", "   ", "hello", "1234567", "9074729", "12345", "Mohammed Al-Hassan", "NL91ABNA0417164301",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "deutdeff", "44d88612fea8a8f36de82e1278abb02", "x" * 5000,
])
def test_detect_says_none_for_what_is_not_a_value(raw: str) -> None:
    assert registry.detect(raw) is None


def test_every_kind_is_registered_and_listed() -> None:
    assert registry.kinds() == sorted([
        "asn", "bic", "btc", "domain", "email", "eth", "iban", "imo", "ipv4", "ipv4-cidr", "ipv6", "ipv6-cidr",
        "mac", "md5", "mmsi", "phone", "sha1", "sha256", "sha512", "url",
    ])
    assert "iban" in registry and "vin" not in registry


def test_keccak_and_eip55_known_answers() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    for addr in ("0x52908400098527886E0F7030069857D2E4169EE7", "0xde709f2102306220921060314715629080e2fb77",
                 "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"):
        low = addr[2:].lower()
        if addr[2:] not in (low, low.upper()):
            assert eip55(low) == addr


def test_domain_helpers() -> None:
    assert reversed_labels("www.example.com") == "com.example.www."
    assert not reversed_labels("badexample.com").startswith(reversed_labels("example.com"))
    assert reversed_labels("a.example.com").startswith(reversed_labels("example.com"))
    assert parent_domains("a.b.example.com") == ["b.example.com", "example.com", "com"]
    assert url_host("http://user@evil.example:8080/x") == ("domain", "evil.example")
    assert url_host("http://[2001:db8::1]/x") == ("ipv6", "2001:db8::1")
    assert url_host("http://192.0.2.1/x") == ("ipv4", "192.0.2.1")
