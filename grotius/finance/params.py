"""Detector parameters and their defaults (documented in docs/finance.md).

Times are seconds. Windowed detectors use hopping windows: buckets of ``window`` seconds
laid twice, the second set shifted by half a window, so a pattern that spans at most
``window / 2`` always falls wholly inside one bucket; longer ones (up to ``window``) are
found when the bucket boundaries allow. Qualifying buckets of the same anchor that overlap
are merged into one alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, asdict
from decimal import Decimal
from typing import Any

from ..exc import InvalidInput

DAY = 86400
HOUR = 3600


@dataclass
class Windowed:
    """Parameters of a detector that looks at one window of time at a time."""

    window: int = 4 * DAY


@dataclass
class FanParams(Windowed):
    #: distinct counterparties needed inside one window
    min_counterparties: int = 5
    #: transactions needed inside one window
    min_transactions: int = 1
    #: a counterparty counts only with at least this many payments in the window
    #: (2 or more looks for repeated transfers from the same accounts, i.e. smurfing)
    min_repeats: int = 1


@dataclass
class GatherScatterParams(Windowed):
    min_in: int = 4
    min_out: int = 4


@dataclass
class ScatterGatherParams(Windowed):
    #: distinct intermediaries between the same source and destination
    min_intermediaries: int = 4


@dataclass
class CycleParams(Windowed):
    #: first to last transaction of a cycle
    window: int = 10 * DAY
    max_hops: int = 6
    min_hops: int = 3
    #: each payment within this fraction of the one before (laundered money keeps its
    #: size, minus fees); a negative value turns the amount condition off
    amount_tolerance: float = 0.2


@dataclass
class BipartiteParams(Windowed):
    #: sources every destination pair must share
    min_sources: int = 3
    min_destinations: int = 3
    #: sources sending to more accounts than this in one bucket are left out of pair
    #: counting (payroll/merchant hubs would otherwise make the pair count quadratic)
    max_source_fanout: int = 50


@dataclass
class StackParams:
    #: accounts a lower layer's destinations and the upper layer's sources must share
    min_shared: int = 2


@dataclass
class AssociatesParams:
    #: accounts of the fan-in group that a counterparty shared with the candidate must
    #: have payments with (the candidate closes triangles with the group)
    min_shared: int = 2
    #: fan-in alerts with more accounts than this are not expanded: busy receivers
    #: (merchants) have so many payers that everyone near them would qualify
    max_group: int = 12
    #: an account with at least this many payments to or from the receiving account is
    #: an associate on that alone (0 = off): repeated dealings with a laundering receiver
    min_payments_with_receiver: int = 0


@dataclass
class PassThroughParams:
    #: longest stay of money in one account
    max_delay: int = 24 * HOUR
    #: the amount passed on is between (1 - tolerance) and 1 times the amount received
    tolerance: float = 0.1
    #: transactions in a chain (3 = two accounts passing money on)
    min_length: int = 3
    max_length: int = 8


@dataclass
class StructuringParams(Windowed):
    window: int = 10 * DAY
    #: reporting threshold, in the payment currency
    threshold: Decimal = Decimal("10000")
    #: amounts in [threshold * (1 - margin), threshold) count as "just under"
    margin: Decimal = Decimal("0.1")
    min_transactions: int = 3


@dataclass
class Params:
    fan_in: FanParams = field(default_factory=FanParams)
    fan_out: FanParams = field(default_factory=FanParams)
    gather_scatter: GatherScatterParams = field(default_factory=GatherScatterParams)
    scatter_gather: ScatterGatherParams = field(default_factory=ScatterGatherParams)
    cycle: CycleParams = field(default_factory=CycleParams)
    bipartite: BipartiteParams = field(default_factory=BipartiteParams)
    stack: StackParams = field(default_factory=StackParams)
    pass_through: PassThroughParams = field(default_factory=PassThroughParams)
    structuring: StructuringParams = field(default_factory=StructuringParams)
    associates: AssociatesParams = field(default_factory=AssociatesParams)
    #: typologies to run (default all)
    typologies: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["structuring"] = {k: str(v) if isinstance(v, Decimal) else v for k, v in d["structuring"].items()}
        d["typologies"] = list(self.typologies)
        return d

    def set(self, assignment: str) -> None:
        """Apply ``detector.param=value`` (as given on the command line with --set)."""
        if "=" not in assignment or "." not in assignment.split("=", 1)[0]:
            raise InvalidInput(f"--set {assignment!r}: expected detector.parameter=value", property="set")
        key, value = assignment.split("=", 1)
        det, name = key.strip().split(".", 1)
        group = getattr(self, det.replace("-", "_"), None)
        if group is None or det == "typologies":
            raise InvalidInput(f"--set {assignment!r}: unknown detector {det!r}", property="set")
        types = {f.name: f.type for f in fields(group)}
        name = name.replace("-", "_")
        if name not in types:
            raise InvalidInput(
                f"--set {assignment!r}: {det} has no parameter {name!r} (has {', '.join(types)})", property="set"
            )
        current = getattr(group, name)
        try:
            if isinstance(current, Decimal):
                new: Any = Decimal(value)
            elif isinstance(current, float):
                new = float(value)
            else:
                new = int(_seconds(value) if name in ("window", "max_delay") else value)
        except (ValueError, ArithmeticError):
            raise InvalidInput(f"--set {assignment!r}: {value!r} is not a valid {type(current).__name__}", property="set") from None
        setattr(group, name, new)


def _seconds(text: str) -> int:
    """'90', '36h', '4d' -> seconds."""
    t = text.strip().lower()
    units = {"s": 1, "m": 60, "h": HOUR, "d": DAY}
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


TYPOLOGIES = (
    "fan_in",
    "fan_out",
    "gather_scatter",
    "scatter_gather",
    "cycle",
    "bipartite",
    "stack",
    "pass_through",
    "structuring",
)
"""The typologies run by default: each one a laundering pattern in the payments themselves
(``generate`` plants every one of them)."""

EXPANSIONS = ("associates",)
"""Detectors run only when asked for: they widen other detectors' alerts to accounts tied
to them, so they find no pattern of their own (see docs/finance.md)."""

DETECTOR_NAMES = TYPOLOGIES + EXPANSIONS
