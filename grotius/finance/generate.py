"""Synthetic transaction networks with planted typologies and labels.

Background payments follow skewed account activity (a few busy accounts, many quiet
ones), with some merchant-like accounts that receive from many payers and payroll-like
accounts that pay many, so detectors meet realistic false-positive bait. Each planted
instance gets its own mule accounts, which also take part in background traffic. The
truth file lists every instance with its transaction ids as written.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..exc import InvalidInput
from .params import DAY, HOUR, TYPOLOGIES

START = int(datetime(2022, 9, 1, tzinfo=timezone.utc).timestamp())
MINUTE = 60


@dataclass
class GenTx:
    src: str
    dst: str
    amount: Decimal
    ts: int
    label: int = 0
    currency: str = "US Dollar"
    payment_format: str = "ACH"
    tx_id: str = ""


@dataclass
class Network:
    transactions: list[GenTx]
    instances: list[dict[str, Any]]
    accounts: list[str]
    banks: dict[str, int] = field(default_factory=dict)


class _Gen:
    def __init__(self, seed: int, days: int) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.n_acct = 0
        self.txs: list[GenTx] = []
        self.instances: list[dict[str, Any]] = []

    def account(self) -> str:
        self.n_acct += 1
        # AMLworld-like hex account numbers
        return f"{0x800000000 + self.n_acct * 7919:09X}"

    def amount(self, base: float | None = None, jitter: float = 0.0) -> Decimal:
        if base is None:
            base = min(self.rng.lognormvariate(6.0, 1.4), 2_000_000.0)
        v = base * (1 + self.rng.uniform(-jitter, jitter))
        return Decimal(f"{max(v, 1.0):.2f}")

    def when(self, span: int) -> int:
        t0 = START + self.rng.randrange(0, self.days * DAY - span - DAY)
        return t0 - t0 % MINUTE

    def at(self, t: int) -> int:
        return t - t % MINUTE

    def plant(self, typ: str, txs: list[GenTx]) -> None:
        for t in txs:
            t.label = 1
            self.txs.append(t)
        self.instances.append({"typology": typ, "tx": txs})

    # -- planted typologies -------------------------------------------------

    def fan_in(self) -> None:
        k = self.rng.randint(6, 10)
        target = self.account()
        t0, base = self.when(DAY), float(self.amount())
        self.plant("fan_in", [GenTx(self.account(), target, self.amount(base, 0.05), self.at(t0 + self.rng.randrange(DAY)))
                              for _ in range(k)])

    def fan_out(self) -> None:
        k = self.rng.randint(6, 10)
        source = self.account()
        t0, base = self.when(DAY), float(self.amount())
        self.plant("fan_out", [GenTx(source, self.account(), self.amount(base, 0.05), self.at(t0 + self.rng.randrange(DAY)))
                               for _ in range(k)])

    def gather_scatter(self) -> None:
        hub = self.account()
        t0, base = self.when(DAY), float(self.amount())
        ins = [GenTx(self.account(), hub, self.amount(base, 0.05), self.at(t0 + self.rng.randrange(DAY // 2)))
               for _ in range(self.rng.randint(5, 8))]
        total = float(sum(t.amount for t in ins)) * 0.97
        k = self.rng.randint(5, 8)
        outs = [GenTx(hub, self.account(), self.amount(total / k, 0.03), self.at(t0 + DAY // 2 + self.rng.randrange(DAY // 2)))
                for _ in range(k)]
        self.plant("gather_scatter", ins + outs)

    def scatter_gather(self) -> None:
        s, d = self.account(), self.account()
        t0, base = self.when(DAY), float(self.amount())
        txs = []
        for _ in range(self.rng.randint(5, 7)):
            m = self.account()
            a = self.amount(base, 0.05)
            t1 = self.at(t0 + self.rng.randrange(DAY // 2))
            txs.append(GenTx(s, m, a, t1))
            txs.append(GenTx(m, d, Decimal(f"{float(a) * self.rng.uniform(0.95, 0.99):.2f}"), self.at(t0 + DAY // 2 + self.rng.randrange(DAY // 2))))
        self.plant("scatter_gather", txs)

    def cycle(self) -> None:
        hops = self.rng.randint(3, 6)
        accts = [self.account() for _ in range(hops)]
        t = self.when(8 * DAY)
        a = float(self.amount())
        txs = []
        for i in range(hops):
            txs.append(GenTx(accts[i], accts[(i + 1) % hops], Decimal(f"{a:.2f}"), t))
            a *= self.rng.uniform(0.95, 0.99)
            t = self.at(t + self.rng.randrange(2 * HOUR, 36 * HOUR))
        self.plant("cycle", txs)

    def _complete(self, srcs: list[str], dsts: list[str], t0: int, span: int, base: float) -> list[GenTx]:
        return [GenTx(s, d, self.amount(base, 0.05), self.at(t0 + self.rng.randrange(span))) for s in srcs for d in dsts]

    def bipartite(self) -> None:
        srcs = [self.account() for _ in range(self.rng.randint(3, 5))]
        dsts = [self.account() for _ in range(self.rng.randint(3, 5))]
        t0 = self.when(2 * DAY)
        self.plant("bipartite", self._complete(srcs, dsts, t0, DAY + DAY // 2, float(self.amount())))

    def stack(self) -> None:
        a = [self.account() for _ in range(self.rng.randint(3, 4))]
        b = [self.account() for _ in range(self.rng.randint(3, 4))]
        c = [self.account() for _ in range(self.rng.randint(3, 4))]
        t0, base = self.when(2 * DAY), float(self.amount())
        self.plant("stack", self._complete(a, b, t0, DAY - HOUR, base) + self._complete(b, c, t0 + DAY, DAY - HOUR, base * 0.97))

    def pass_through(self) -> None:
        n = self.rng.randint(3, 6)
        accts = [self.account() for _ in range(n + 1)]
        t = self.when(2 * DAY)
        a = float(self.amount())
        txs = []
        for i in range(n):
            txs.append(GenTx(accts[i], accts[i + 1], Decimal(f"{a:.2f}"), t))
            a *= self.rng.uniform(0.97, 0.995)
            t = self.at(t + self.rng.randrange(HOUR, 6 * HOUR))
        self.plant("pass_through", txs)

    def structuring(self) -> None:
        src = self.account()
        dsts = [self.account() for _ in range(self.rng.randint(1, 3))]
        t0 = self.when(5 * DAY)
        self.plant("structuring", [
            GenTx(src, self.rng.choice(dsts), Decimal(f"{self.rng.uniform(9000, 9990):.2f}"), self.at(t0 + self.rng.randrange(5 * DAY)))
            for _ in range(self.rng.randint(4, 7))
        ])

    # -- background -----------------------------------------------------------

    def background(self, n_accounts: int, n_tx: int) -> None:
        planted = [f"{0x800000000 + i * 7919:09X}" for i in range(1, self.n_acct + 1)]
        normal = [self.account() for _ in range(n_accounts)]
        pool = normal + planted
        weights = [1.0 / (1 + i) ** 0.6 for i in range(len(pool))]
        self.rng.shuffle(weights)
        merchants = self.rng.sample(normal, max(2, n_accounts // 400))
        payroll = self.rng.sample(normal, max(2, n_accounts // 800))
        srcs = self.rng.choices(pool, weights, k=n_tx)
        dsts = self.rng.choices(pool, weights, k=n_tx)
        for i in range(n_tx):
            s, d = srcs[i], dsts[i]
            r = self.rng.random()
            if r < 0.04:
                d = self.rng.choice(merchants)
            elif r < 0.06:
                s = self.rng.choice(payroll)
            if s == d:
                continue
            t = START + self.rng.randrange(self.days * DAY)
            self.txs.append(GenTx(s, d, self.amount(), t - t % MINUTE,
                                  payment_format=self.rng.choice(("ACH", "Cheque", "Credit Card", "Wire", "Cash"))))


def generate(
    *,
    accounts: int = 2000,
    transactions: int = 20000,
    per_typology: int = 10,
    days: int = 30,
    seed: int = 1,
    typologies: tuple[str, ...] = TYPOLOGIES,
) -> Network:
    if days < 10:
        raise InvalidInput("days must be at least 10 (cycles span up to 8 days)", property="days")
    if accounts < 2:
        raise InvalidInput("accounts must be at least 2 (the merchant and payroll accounts are drawn from them)",
                           property="accounts")
    if transactions < 0:
        raise InvalidInput("transactions must not be negative", property="transactions")
    if per_typology < 0:
        raise InvalidInput("per_typology must not be negative", property="per_typology")
    for typ in typologies:
        if typ not in TYPOLOGIES:
            raise InvalidInput(f"unknown typology {typ!r}", property="typologies")
    g = _Gen(seed, days)
    for _ in range(per_typology):
        for typ in typologies:
            getattr(g, typ)()
    g.background(accounts, transactions)
    txs = sorted(g.txs, key=lambda t: t.ts)  # stable: planted order kept within a minute
    for i, t in enumerate(txs, 1):
        t.tx_id = str(i)
    instances = []
    for inst in g.instances:
        instances.append({
            "typology": inst["typology"],
            "transactions": sorted((t.tx_id for t in inst["tx"]), key=int),
            "accounts": sorted({a for t in inst["tx"] for a in (t.src, t.dst)}),
        })
    all_accts = sorted({a for t in txs for a in (t.src, t.dst)})
    rng = random.Random(seed + 1)
    banks = {a: rng.randint(1, 300) for a in all_accts}
    return Network(txs, instances, all_accts, banks)


def write_amlworld(net: Network, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Timestamp", "From Bank", "Account", "To Bank", "Account", "Amount Received",
                    "Receiving Currency", "Amount Paid", "Payment Currency", "Payment Format", "Is Laundering"])
        for t in net.transactions:
            stamp = datetime.fromtimestamp(t.ts, tz=timezone.utc).strftime("%Y/%m/%d %H:%M")
            w.writerow([stamp, net.banks[t.src], t.src, net.banks[t.dst], t.dst, f"{t.amount:.2f}", t.currency,
                        f"{t.amount:.2f}", t.currency, t.payment_format, t.label])


def amlsim_ids(net: Network) -> dict[str, str]:
    return {a: str(i) for i, a in enumerate(net.accounts)}


def write_amlsim(net: Network, folder: Path) -> dict[str, str]:
    """AMLSim layout (time = day step from the first day); returns account -> node id."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = amlsim_ids(net)
    fraud = {a for t in net.transactions if t.label for a in (t.src, t.dst)}
    with (folder / "transactions.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["sourceNodeId", "targetNodeId", "value", "time"])
        for t in net.transactions:
            w.writerow([ids[t.src], ids[t.dst], f"{t.amount:.2f}", (t.ts - START) // DAY + 1])
    with (folder / "nodes.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["nodeid", "isFraud", "init_balance", "fraudStep"])
        for a in net.accounts:
            w.writerow([ids[a], 1 if a in fraud else 0, "1000.00", -1])
    return ids


def write_truth(net: Network, path: Path, ids: dict[str, str] | None = None) -> None:
    inst = net.instances
    if ids is not None:
        inst = [{**i, "accounts": sorted(ids[a] for a in i["accounts"])} for i in inst]
    path.write_text(json.dumps({"instances": inst}, indent=1) + "\n", encoding="utf-8")
