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

from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Union

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
        for obs in self.observations():
            stack: list[Any] = [obs.expr]
            while stack:
                node = stack.pop()
                if isinstance(node, Comparison):
                    yield node
                else:
                    stack.extend(reversed(node.operands))
