"""STIX 2.1 patterning language: AST and a hand-written recursive-descent parser.

Why not stix2-patterns: its ANTLR parser costs milliseconds per pattern, which alone
would cap ingest far below the 10,000 objects/s target. This parser is at least as strict
(checked against ``stix2patterns.validator.run_validator`` in the tests); see docs/stix.md.

AST (stable interface, other areas extract values from it):

- :class:`Comparison`: one ``object_type:path OP value`` test.
- :class:`ComparisonExpr`: ``AND``/``OR`` of comparisons or nested comparison expressions.
- :class:`Observation`: one bracketed ``[ ... ]`` observation, holding a comparison tree.
- :class:`ObservationExpr`: ``AND``/``OR``/``FOLLOWEDBY`` of observations, with qualifiers.
- :class:`Pattern`: the root, with :meth:`Pattern.comparisons` and :meth:`Pattern.observations`.
"""

from __future__ import annotations

import base64
import operator
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Literal, Union

from grotius.exc import PatternError

# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A ``t'...'`` literal; ``value`` is the RFC 3339 text as written."""

    value: str


@dataclass(frozen=True, slots=True)
class Binary:
    """A ``b'...'`` (base64) or ``h'...'`` (hex) literal, decoded to bytes."""

    value: bytes
    kind: Literal["base64", "hex"]


@dataclass(slots=True)
class Comparison:
    """``object_type:path operator value``.

    ``path`` holds property names (str) and list indexes (int), with ``"*"`` for ``[*]``;
    e.g. ``file:hashes.'SHA-256'`` -> ``("hashes", "SHA-256")``,
    ``email-message:to_refs[*].value`` -> ``("to_refs", "*", "value")``.
    ``value`` is a str, int, float, bool, :class:`Timestamp`, :class:`Binary`, a tuple of
    those for ``IN (...)``, or None for ``EXISTS``. ``operator`` is upper case (``=``,
    ``!=``, ``>``, ``<``, ``>=``, ``<=``, ``IN``, ``LIKE``, ``MATCHES``, ``ISSUBSET``,
    ``ISSUPERSET``, ``EXISTS``); ``negated`` is True for ``NOT``.
    """

    object_type: str
    path: tuple[str | int, ...]
    operator: str
    negated: bool
    value: Any


@dataclass(slots=True)
class ComparisonExpr:
    op: Literal["AND", "OR"]
    operands: list[Union["ComparisonExpr", Comparison]]


@dataclass(slots=True)
class Qualifier:
    """``WITHIN n SECONDS`` (kind "WITHIN", values (n,)), ``REPEATS n TIMES`` ("REPEATS",
    (n,)), ``START t'..' STOP t'..'`` ("START", (Timestamp, Timestamp))."""

    kind: Literal["WITHIN", "REPEATS", "START"]
    values: tuple[Any, ...]


@dataclass(slots=True)
class Observation:
    expr: Union[ComparisonExpr, Comparison]
    qualifiers: list[Qualifier] = field(default_factory=list)


@dataclass(slots=True)
class ObservationExpr:
    op: Literal["AND", "OR", "FOLLOWEDBY"]
    operands: list[Union["ObservationExpr", Observation]]
    qualifiers: list[Qualifier] = field(default_factory=list)


Node = Union[ObservationExpr, Observation, ComparisonExpr, Comparison]


@dataclass(slots=True)
class Pattern:
    text: str
    root: Union[ObservationExpr, Observation]

    def observations(self) -> Iterator[Observation]:
        stack: list[Any] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Observation):
                yield node
            else:
                stack.extend(reversed(node.operands))

    def comparisons(self) -> Iterator[Comparison]:
        root = self.root
        if type(root) is Observation and type(root.expr) is Comparison:
            yield root.expr  # the commonest shape, without the walk
            return
        for obs in self.observations():
            stack: list[Any] = [obs.expr]
            while stack:
                node = stack.pop()
                if isinstance(node, Comparison):
                    yield node
                else:
                    stack.extend(reversed(node.operands))


# --------------------------------------------------------------------------- lexer
#
# Token rules follow the OASIS STIXPattern.g4 lexer. ANTLR lexes by longest match with
# rule order breaking ties; the alternation below is ordered so that Python's
# leftmost-first choice gives the same tokens (floats before ints, literals with a
# one-letter prefix before identifiers, keywords recognised after the identifier match).

_WS = "[ \\t\\r\\n\\x0b\\x0c\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
_TOKEN_RE = re.compile(
    "|".join(
        [
            f"(?P<WS>{_WS}+)",
            r"(?P<COMMENT>/\*.*?\*/|//[^\r\n]*)",
            r"(?P<TS>t'[0-9]{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])"
            r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?Z')",
            r"(?P<HEX>h'(?:[0-9A-Fa-f]{2})*')",
            r"(?P<BIN>b'(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)')",
            r"(?P<IDENT>[A-Za-z_][A-Za-z0-9_\-]*)",
            r"(?P<FLOAT>[+\-]?[0-9]*\.[0-9]+)",
            r"(?P<INT>[+\-]?(?:0|[1-9][0-9]*))",
            r"(?P<STR>'(?:[^'\\]|\\['\\])*')",
            r"(?P<OP>==|=|!=|<>|<=|>=|<|>)",
            r"(?P<PUNCT>[:.,()\[\]*+\-^/'])",
            r"(?P<BAD>.)",
        ]
    ),
    re.DOTALL,
)

#: parenthesis nesting limit (keeps the recursive parser far from Python's stack limit)
MAX_DEPTH = 100

_KEYWORDS = frozenset(
    "AND OR NOT FOLLOWEDBY LIKE MATCHES ISSUPERSET ISSUBSET EXISTS LAST IN START STOP "
    "SECONDS WITHIN REPEATS TIMES".split()
)
_STRING_OPS = frozenset(("LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"))
_ORDER_OPS = frozenset((">", "<", ">=", "<="))
_UNESCAPE_RE = re.compile(r"\\(['\\])")
_GROUP_1 = operator.itemgetter(1)

# Kinds used by the parser: "ID" (identifier without hyphen), "IDH" (with hyphen),
# "KW" (keyword, text is the keyword), "BOOL", "INT", "FLOAT", "STR", "TS", "HEX", "BIN",
# "OP" (comparison operator, normalised), "P" (punctuation, text is the character),
# "BAD", "EOF".
Token = tuple[str, str, int]


_SCAN_RE = re.compile(re.sub(r"\(\?P<[A-Z]+>", "(?:", _TOKEN_RE.pattern), re.DOTALL)
_WS_CHARS = frozenset(" \t\r\n\x0b\x0c\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset("0123456789")
_PREFIXED = {"t": "TS", "h": "HEX", "b": "BIN"}
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PUNCT = frozenset(":.,()[]*+-^/'")


def _tokenize(text: str) -> tuple[list[Token], list[str]]:
    """Tokens as (kind, text, raw index); the raw token list gives offsets on error."""
    raw: list[str] = _SCAN_RE.findall(text)
    out: list[Token] = []
    append = out.append
    for i, tok in enumerate(raw):
        c = tok[0]
        if c in _IDENT_START:
            if len(tok) > 2 and tok[1] == "'" and c in _PREFIXED:
                append((_PREFIXED[c], tok, i))
            elif "-" in tok:
                append(("IDH", tok, i))
            elif tok in _KEYWORDS:
                append(("KW", tok, i))
            elif tok == "true" or tok == "false":
                append(("BOOL", tok, i))
            else:
                append(("ID", tok, i))
        elif c in _DIGITS or (len(tok) > 1 and (c == "+" or c == "-" or c == ".")):
            append(("FLOAT" if "." in tok else "INT", tok, i))
        elif c == "'":
            append(("STR" if len(tok) > 1 else "P", tok, i))
        elif c in _WS_CHARS:
            continue
        elif c == "/" and len(tok) > 1:
            continue  # comment
        elif tok in _OPS:
            append(("OP", _OPS[tok], i))
        elif c in _PUNCT:
            append(("P", tok, i))
        else:
            append(("BAD", tok, i))
    append(("EOF", "", len(raw)))
    return out, raw


# --------------------------------------------------------------------------- parser

# What stix2-patterns enforces on hash values (its object_validator), so any pattern it
# rejects is rejected here too. Keys are hash names upper-cased without '-'.
_HEX_HASH = {
    "MD5": 32, "RIPEMD160": 40, "SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96,
    "SHA512": 128, "SHA3224": 56, "SHA3256": 64, "SHA3384": 96, "SHA3512": 128,
    "WHIRLPOOL": 128,
}  # fmt: skip
_HEX_RE = re.compile(r"[a-fA-F0-9]+")
_MD6_LENGTHS = frozenset((32, 40, 56, 64, 96, 128))
_SSDEEP_RE = re.compile(r"[a-zA-Z0-9/+:.]{1,128}")


def _describe(tok: Token) -> str:
    if tok[0] == "EOF":
        return "end of pattern"
    return repr(tok[1])


class _Parser:
    __slots__ = ("text", "toks", "raw", "i", "depth")

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks, self.raw = _tokenize(text)
        self.i = 0
        self.depth = 0

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"parentheses nested deeper than {MAX_DEPTH} levels")

    def fail(self, message: str, tok: Token | None = None) -> PatternError:
        tok = tok or self.toks[self.i]
        offset = sum(map(len, self.raw[: tok[2]]))
        return PatternError(
            f"invalid STIX pattern at offset {offset}: {message}",
            offset=offset,
        )

    def expected(self, what: str) -> PatternError:
        tok = self.toks[self.i]
        if tok[0] == "BAD":
            return self.fail(f"unexpected character {tok[1]!r} (expected {what})")
        return self.fail(f"expected {what}, found {_describe(tok)}")

    def punct(self, ch: str) -> bool:
        tok = self.toks[self.i]
        if tok[0] == "P" and tok[1] == ch:
            self.i += 1
            return True
        return False

    def keyword(self, kw: str) -> bool:
        tok = self.toks[self.i]
        if tok[0] == "KW" and tok[1] == kw:
            self.i += 1
            return True
        return False

    # observation level ---------------------------------------------------------

    def pattern(self) -> Pattern:
        root = self.obs_followedby()
        if self.toks[self.i][0] != "EOF":
            raise self.expected("AND, OR, FOLLOWEDBY, a qualifier or end of pattern")
        return Pattern(self.text, root)

    def obs_followedby(self) -> Any:
        first = self.obs_or()
        if self.toks[self.i][1] != "FOLLOWEDBY":
            return first
        self.i += 1
        operands = [first, self.obs_or()]
        while self.toks[self.i][1] == "FOLLOWEDBY":
            self.i += 1
            operands.append(self.obs_or())
        return ObservationExpr("FOLLOWEDBY", operands)

    def obs_or(self) -> Any:
        first = self.obs_and()
        if self.toks[self.i][1] != "OR":
            return first
        self.i += 1
        operands = [first, self.obs_and()]
        while self.toks[self.i][1] == "OR":
            self.i += 1
            operands.append(self.obs_and())
        return ObservationExpr("OR", operands)

    def obs_and(self) -> Any:
        first = self.obs_qualified()
        if self.toks[self.i][1] != "AND":
            return first
        self.i += 1
        operands = [first, self.obs_qualified()]
        while self.toks[self.i][1] == "AND":
            self.i += 1
            operands.append(self.obs_qualified())
        return ObservationExpr("AND", operands)

    def obs_qualified(self) -> Any:
        tok = self.toks[self.i]
        if self.punct("["):
            node: Any = Observation(self.cmp_or())
            if not self.punct("]"):
                raise self.expected("AND, OR or ']'")
        elif self.punct("("):
            self.enter()
            node = self.obs_followedby()
            self.depth -= 1
            if not self.punct(")"):
                raise self.expected("AND, OR, FOLLOWEDBY, a qualifier or ')'")
        else:
            raise self.expected("'[' or '('")
        quals: list[Qualifier] | None = None
        while True:
            tok = self.toks[self.i]
            if tok[0] != "KW" or tok[1] not in ("WITHIN", "REPEATS", "START"):
                break
            q = self.qualifier()
            if quals is None:
                if node.qualifiers:
                    # qualifiers on a parenthesised group that already has its own:
                    # keep both levels apart in a single-operand group
                    node = ObservationExpr("AND", [node])
                quals = node.qualifiers
            if any(existing.kind == q.kind for existing in quals):
                raise self.fail(f"duplicate {q.kind} qualifier on one observation expression", tok)
            quals.append(q)
        return node

    def qualifier(self) -> Qualifier:
        tok = self.toks[self.i]
        self.i += 1
        kw = tok[1]
        if kw == "WITHIN":
            num = self.toks[self.i]
            if num[0] not in ("INT", "FLOAT") or num[1][0] == "-":
                raise self.expected("a positive number of seconds after WITHIN")
            self.i += 1
            value: int | float = int(num[1]) if num[0] == "INT" else float(num[1])
            if value <= 0:
                raise self.fail("WITHIN needs a number of seconds greater than 0", num)
            if not self.keyword("SECONDS"):
                raise self.expected("SECONDS")
            return Qualifier("WITHIN", (value,))
        if kw == "REPEATS":
            num = self.toks[self.i]
            if num[0] != "INT" or num[1][0] == "-":
                raise self.expected("a positive integer after REPEATS")
            self.i += 1
            count = int(num[1])
            if count <= 0:
                raise self.fail("REPEATS needs a count greater than 0", num)
            if not self.keyword("TIMES"):
                raise self.expected("TIMES")
            return Qualifier("REPEATS", (count,))
        start_tok = self.toks[self.i]
        start = self.timestamp("a t'...' timestamp after START")
        if not self.keyword("STOP"):
            raise self.expected("STOP")
        stop_tok = self.toks[self.i]
        stop = self.timestamp("a t'...' timestamp after STOP")
        if _ts_key(stop_tok[1]) <= _ts_key(start_tok[1]):
            raise self.fail("STOP must be later than START", stop_tok)
        return Qualifier("START", (start, stop))

    def timestamp(self, what: str) -> Timestamp:
        tok = self.toks[self.i]
        if tok[0] != "TS":
            raise self.expected(what)
        self.i += 1
        return self._ts_value(tok)

    def _ts_value(self, tok: Token) -> Timestamp:
        body = tok[1][2:-1]
        try:
            # :60 is a leap second, syntactically allowed; datetime cannot hold it
            datetime(int(body[0:4]), int(body[5:7]), int(body[8:10]))
        except ValueError:
            raise self.fail(f"{body!r} is not a valid calendar date", tok) from None
        return Timestamp(body)

    # comparison level ----------------------------------------------------------

    def cmp_or(self) -> Any:
        first = self.cmp_and()
        if self.toks[self.i][1] != "OR":
            return first
        self.i += 1
        operands = [first, self.cmp_and()]
        while self.toks[self.i][1] == "OR":
            self.i += 1
            operands.append(self.cmp_and())
        return ComparisonExpr("OR", operands)

    def cmp_and(self) -> Any:
        first = self.prop_test()
        if self.toks[self.i][1] != "AND":
            return first
        self.i += 1
        operands = [first, self.prop_test()]
        while self.toks[self.i][1] == "AND":
            self.i += 1
            operands.append(self.prop_test())
        return ComparisonExpr("AND", operands)

    def prop_test(self) -> Any:
        if self.punct("("):
            self.enter()
            inner = self.cmp_or()
            self.depth -= 1
            if not self.punct(")"):
                raise self.expected("AND, OR or ')'")
            return inner
        tok = self.toks[self.i]
        if tok[0] == "KW" and (tok[1] == "EXISTS" or tok[1] == "NOT"):
            negated = self.keyword("NOT")
            if not self.keyword("EXISTS"):
                raise self.expected("EXISTS after a leading NOT")
            object_type, path = self.object_path()
            return Comparison(object_type, path, "EXISTS", negated, None)
        object_type, path = self.object_path()
        negated = self.keyword("NOT")
        tok = self.toks[self.i]
        kind = tok[0]
        if kind == "OP":
            op = tok[1]
            self.i += 1
            vtok = self.toks[self.i]
            value = self.literal(allow_bool=op == "=" or op == "!=")
        elif kind == "KW" and (tok[1] in _STRING_OPS or tok[1] == "IN"):
            op = tok[1]
            self.i += 1
            vtok = self.toks[self.i]
            if op == "IN":
                value = self.set_literal()
            else:
                if vtok[0] != "STR":
                    raise self.expected(f"a quoted string after {op}")
                self.i += 1
                value = _unquote(vtok[1])
        else:
            raise self.expected("a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, "
                                "MATCHES, ISSUBSET, ISSUPERSET)")
        if "hashes" in path:
            self.check_hash(path, op, value, vtok)
        return Comparison(object_type, path, op, negated, value)

    def check_hash(self, path: tuple[str | int, ...], op: str, value: Any, tok: Token) -> None:
        problem = _hash_problem(path[-1], value)
        if problem is not None:
            raise self.fail(problem, tok)

    def object_path(self) -> tuple[str, tuple[str | int, ...]]:
        tok = self.toks[self.i]
        if tok[0] != "ID" and tok[0] != "IDH":
            raise self.expected("an object type (e.g. file:...)")
        object_type = tok[1]
        self.i += 1
        if not self.punct(":"):
            raise self.expected("':' after the object type")
        path: list[str | int] = [self.path_key("a property name after ':'")]
        toks = self.toks
        while True:
            tok = toks[self.i]
            if tok[0] != "P":
                break
            if tok[1] == ".":
                self.i += 1
                path.append(self.path_key("a property name after '.'"))
            elif tok[1] == "[":
                self.i += 1
                idx = toks[self.i]
                if idx[0] == "INT" and idx[1][0] != "-":
                    path.append(int(idx[1]))
                elif idx[0] == "P" and idx[1] == "*":
                    path.append("*")
                else:
                    raise self.expected("a non-negative list index or '*'")
                self.i += 1
                if not self.punct("]"):
                    raise self.expected("']' after the list index")
            else:
                break
        return object_type, tuple(path)

    def path_key(self, what: str) -> str:
        tok = self.toks[self.i]
        if tok[0] == "ID":
            self.i += 1
            return tok[1]
        if tok[0] == "STR":
            self.i += 1
            return _unquote(tok[1])
        raise self.expected(what)

    def literal(self, allow_bool: bool) -> Any:
        tok = self.toks[self.i]
        kind = tok[0]
        text = tok[1]
        if kind == "STR":
            value: Any = _unquote(text)
        elif kind == "INT":
            value = int(text)
        elif kind == "FLOAT":
            value = float(text)
        elif kind == "TS":
            value = self._ts_value(tok)
        elif kind == "HEX":
            value = Binary(bytes.fromhex(text[2:-1]), "hex")
        elif kind == "BIN":
            value = Binary(base64.b64decode(text[2:-1]), "base64")
        elif kind == "BOOL" and allow_bool:
            value = text == "true"
        else:
            raise self.expected("a literal value" if allow_bool else "an orderable literal (not a boolean)")
        self.i += 1
        return value

    def set_literal(self) -> tuple[Any, ...]:
        if not self.punct("("):
            raise self.expected("'(' to open the IN set")
        items: list[Any] = []
        if self.punct(")"):
            return ()
        items.append(self.literal(True))
        while self.punct(","):
            items.append(self.literal(True))
        if not self.punct(")"):
            raise self.expected("',' or ')' in the IN set")
        return tuple(items)


def _hash_problem(last: str | int, value: Any) -> str | None:
    """Why comparing hash ``last`` (the path's last step) with ``value`` is invalid, or None."""
    if last == "*":
        return None
    if isinstance(last, int):
        return "a hashes dictionary cannot be indexed as a list"
    algo = last.upper().replace("-", "").replace("'", "")
    if algo in _HEX_HASH or algo == "MD6" or algo == "SSDEEP":
        if not isinstance(value, str):
            # stix2-patterns compares the literal text with the hash syntax, so
            # sets and non-string literals are rejected there as well
            return f"a {last} hash comparison needs one quoted hash value"
        if algo == "SSDEEP":
            ok = _SSDEEP_RE.fullmatch(value) is not None
        else:
            ok = _HEX_RE.fullmatch(value) is not None and (
                len(value) in _MD6_LENGTHS if algo == "MD6" else len(value) == _HEX_HASH[algo]
            )
        if not ok:
            return f"{value!r} is not a valid {last} hash"
    return None


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" in body:
        return _UNESCAPE_RE.sub(_GROUP_1, body)  # a callable: a template is expanded in Python per match
    return body


def _ts_key(text: str) -> str:
    # t'YYYY-MM-DDTHH:MM:SS[.frac]Z' -> sortable text with 9 fraction digits
    body = text[2:-2]
    head, _, frac = body.partition(".")
    return head + "." + frac.ljust(9, "0")


def _brackets_first(text: str) -> bool:
    # stix2-patterns requires the first character after any '(' and whitespace to be
    # '[' (so a leading comment is rejected there); mirror it to stay as strict
    for ch in text:
        if ch != "(" and not ch.isspace():
            return ch == "["
    return False


# --------------------------------------------------------------------------- fast path
#
# Most real patterns are a few ``type:prop = 'value'`` tests in brackets joined by AND/OR
# (e.g. ``[ipv4-addr:value = '198.51.100.1']``), written with single spaces. Tokenizing
# and descending costs more than the rest of an indicator's validation together, so such
# text is matched by a few regexes that admit only token sequences the full parser would
# read the same way, and builds the identical tree. Anything else (other spacing,
# comments, parentheses, EXISTS, IN, other literals, START/STOP, list indexes) and
# anything doubtful returns None and goes to the full parser, which alone produces
# errors; tests/test_stix_validate_fast.py checks both give the same tree.

_F_STR = r"'[^'\\]*(?:\\['\\][^'\\]*)*'"  # the STR token, loop unrolled
_F_CMP = re.compile(
    r"([a-z_][a-z0-9_\-]*):([A-Za-z_][A-Za-z0-9_]*)((?:\.(?:[A-Za-z_][A-Za-z0-9_]*|" + _F_STR + r"))*)"
    r" (NOT )?(=|!=|<=|>=|<|>|LIKE|MATCHES|ISSUBSET|ISSUPERSET) (" + _F_STR + r"|0|[1-9][0-9]*)"
    r"(\]| AND | OR )"
)
_F_KEY = re.compile(r"\.(?:([A-Za-z_][A-Za-z0-9_]*)|(" + _F_STR + "))")
_F_QUAL = re.compile(r" (?:WITHIN ([1-9][0-9]*) SECONDS|REPEATS ([1-9][0-9]*) TIMES)")
_F_JOIN = re.compile(r" (AND|OR|FOLLOWEDBY) \[")
_F_NOT_ID = _KEYWORDS | {"true", "false"}  # lexed as keywords or booleans, not identifiers
_CMP_LEVELS = ("OR", "AND")
_OBS_LEVELS = ("FOLLOWEDBY", "OR", "AND")


def _nest(cls: Any, items: list[Any], ops: list[str], levels: tuple[str, ...]) -> Any:
    """The tree the recursive descent builds for ``items`` joined by ``ops``, loosest
    binding operator first in ``levels``."""
    if not ops:
        return items[0]
    while levels[0] not in ops:
        levels = levels[1:]
    op, rest = levels[0], levels[1:]
    operands = []
    start = 0
    for i, o in enumerate(ops):
        if o == op:
            operands.append(items[start] if i == start else _nest(cls, items[start : i + 1], ops[start:i], rest))
            start = i + 1
    operands.append(items[start] if start == len(ops) else _nest(cls, items[start:], ops[start:], rest))
    return cls(op, operands)


def _fast_parse(text: str) -> Pattern | None:
    """The parse tree of a pattern of the common simple shapes, else None."""
    if text[:1] != "[":
        return None
    end = len(text)
    pos = 1
    observations: list[Observation] = []
    obs_ops: list[str] = []
    while True:
        comparisons: list[Comparison] = []
        cmp_ops: list[str] = []
        while True:
            m = _F_CMP.match(text, pos)
            if m is None:
                return None
            object_type, first, rest, neg, op, raw, after = m.groups()
            if object_type in _F_NOT_ID or first in _F_NOT_ID:
                return None
            path: list[str | int] = [first]
            if rest:
                for k in _F_KEY.finditer(rest):
                    key = k.group(1)
                    if key is None:
                        path.append(_unquote(k.group(2)))
                    elif key in _F_NOT_ID:
                        return None
                    else:
                        path.append(key)
            if raw[0] == "'":
                value: Any = _unquote(raw)
            elif op in _STRING_OPS:
                return None
            else:
                value = int(raw)
            if "hashes" in path and _hash_problem(path[-1], value) is not None:
                return None
            comparisons.append(Comparison(object_type, tuple(path), op, neg is not None, value))
            pos = m.end()
            if after == "]":
                break
            cmp_ops.append(after[1:-1])
        obs = Observation(_nest(ComparisonExpr, comparisons, cmp_ops, _CMP_LEVELS) if cmp_ops else comparisons[0], [])
        observations.append(obs)
        if pos == end:
            break
        while (q := _F_QUAL.match(text, pos)) is not None:
            within, repeats = q.groups()
            qual = Qualifier("WITHIN", (int(within),)) if within else Qualifier("REPEATS", (int(repeats),))
            if any(existing.kind == qual.kind for existing in obs.qualifiers):
                return None
            obs.qualifiers.append(qual)
            pos = q.end()
        if pos == end:
            break
        j = _F_JOIN.match(text, pos)
        if j is None:
            return None
        obs_ops.append(j.group(1))
        pos = j.end()
    return Pattern(text, _nest(ObservationExpr, observations, obs_ops, _OBS_LEVELS) if obs_ops else observations[0])


_RECENT: dict[str, Pattern] = {}
_RECENT_MAX = 8192


def parse(text: str) -> Pattern:
    """Parse a STIX 2.1 pattern; raise :class:`PatternError` with ``offset`` on error.

    Ingest parses each pattern twice (validation, then value extraction for correlation),
    so recent results are kept; treat the returned tree as read-only.
    """
    hit = _RECENT.get(text) if isinstance(text, str) else None
    if hit is not None:
        return hit
    pat = (_fast_parse(text) if isinstance(text, str) else None) or _parse(text)
    if len(_RECENT) >= _RECENT_MAX:
        _RECENT.clear()
    _RECENT[text] = pat
    return pat


def _parse(text: str) -> Pattern:
    if not isinstance(text, str):
        raise PatternError(f"a STIX pattern must be a string, not {type(text).__name__}")
    if not _brackets_first(text):
        raise PatternError(
            "invalid STIX pattern at offset 0: a pattern must start with '[' "
            "(optionally after '(')",
            offset=0,
        )
    return _Parser(text).pattern()
