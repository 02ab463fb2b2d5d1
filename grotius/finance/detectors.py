"""Typology detectors as SQL steps that DuckDB and Spark SQL both run unchanged.

Each detector leaves a table ``m_<typology>(akey, tx_id)``: one row per transaction of each
alert, ``akey`` naming the alert inside this run. Windowed detectors first find qualifying
buckets (``c_*``: anchor, kind, b, ws, we) and their transactions (``ct_*``), then merge
overlapping buckets of the same anchor into one alert (``_islands``). Path detectors
(cycles, pass-through chains) expand paths one hop per step, a bounded iteration both
engines run, with one column per hop so no engine-specific array functions are needed.

Portable SQL used here: CAST(.. AS STRING|BIGINT|DOUBLE), concat, instr, floor, window
functions with ROWS frames, LEFT JOIN .. IS NULL instead of ANTI JOIN.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

from .engines import Engine
from .params import DETECTOR_NAMES, Params, TYPOLOGIES

Step = Callable[[Engine, Params], None]


def _dec(d: Decimal) -> str:
    return f"CAST('{format(d, 'f')}' AS DECIMAL(38,8))"


def prepare(engine: Engine, params: Params) -> None:
    """Edges between different accounts; self-transfers are bookkeeping, not flows."""
    engine.create(
        "e",
        "SELECT seq, tx_id, src, dst, amount, currency, amount_received, currency_received, ts "
        "FROM tx WHERE src <> dst",
        materialize=True,
    )


def _buckets(window: int, name: str, engine: Engine, where: str = "") -> None:
    """Every edge in its two hopping buckets: kind 0 starts at 0, kind 1 half a window later."""
    half = window // 2
    cond = f"WHERE {where}" if where else ""
    engine.create(
        name,
        f"SELECT seq, tx_id, src, dst, amount, currency, amount_received, currency_received, ts, "
        f"0 AS kind, CAST(floor(ts / {window}) AS BIGINT) AS b FROM e {cond} "
        f"UNION ALL "
        f"SELECT seq, tx_id, src, dst, amount, currency, amount_received, currency_received, ts, "
        f"1 AS kind, CAST(floor((ts + {half}) / {window}) AS BIGINT) AS b FROM e {cond}",
        materialize=True,
    )


def _bounds(window: int, table: str = "") -> str:
    """Start and end (ws, we) of a hopping bucket from its (kind, b) columns."""
    half = window // 2
    q = f"{table}." if table else ""
    start = f"{q}b * {window} - {q}kind * {half}"
    return f"{start} AS ws, {start} + {window} AS we"


def _islands(engine: Engine, typ: str) -> None:
    """Merge overlapping qualifying buckets of one anchor into one alert ``m_<typ>``."""
    engine.create(
        f"i1_{typ}",
        f"SELECT anchor, kind, b, ws, we, max(we) OVER (PARTITION BY anchor ORDER BY ws, kind "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM c_{typ}",
    )
    engine.create(
        f"i2_{typ}",
        f"SELECT anchor, kind, b, sum(CASE WHEN prev_end IS NULL OR ws >= prev_end THEN 1 ELSE 0 END) "
        f"OVER (PARTITION BY anchor ORDER BY ws, kind ROWS UNBOUNDED PRECEDING) AS island FROM i1_{typ}",
    )
    engine.create(
        f"m_{typ}",
        f"SELECT DISTINCT concat('{typ}|', i.anchor, '|', CAST(i.island AS STRING)) AS akey, ct.tx_id "
        f"FROM i2_{typ} i JOIN ct_{typ} ct ON ct.anchor = i.anchor AND ct.kind = i.kind AND ct.b = i.b",
        materialize=True,
    )


def _fan(engine: Engine, params: Params, typ: str, side: str, other: str) -> None:
    p = params.fan_in if typ == "fan_in" else params.fan_out
    _buckets(p.window, f"bk_{typ}", engine)
    # per counterparty first: only those paying (or paid) at least min_repeats times count
    engine.create(
        f"cp_{typ}",
        f"SELECT {side} AS anchor, {other} AS cp, kind, b, count(*) AS n FROM bk_{typ} "
        f"GROUP BY {side}, {other}, kind, b HAVING count(*) >= {p.min_repeats}",
    )
    engine.create(
        f"c_{typ}",
        f"SELECT anchor, kind, b, {_bounds(p.window)} FROM cp_{typ} GROUP BY anchor, kind, b "
        f"HAVING count(*) >= {p.min_counterparties} AND sum(n) >= {p.min_transactions}",
    )
    engine.create(
        f"ct_{typ}",
        f"SELECT c.anchor, c.kind, c.b, k.tx_id FROM bk_{typ} k JOIN c_{typ} c "
        f"ON c.anchor = k.{side} AND c.kind = k.kind AND c.b = k.b "
        f"JOIN cp_{typ} q ON q.anchor = c.anchor AND q.kind = c.kind AND q.b = c.b AND q.cp = k.{other}",
    )
    _islands(engine, typ)


def fan_in(engine: Engine, params: Params) -> None:
    _fan(engine, params, "fan_in", "dst", "src")


def fan_out(engine: Engine, params: Params) -> None:
    _fan(engine, params, "fan_out", "src", "dst")


def gather_scatter(engine: Engine, params: Params) -> None:
    """Money gathered into one account from many, then scattered to many, in one window."""
    p = params.gather_scatter
    _buckets(p.window, "bk_gs", engine)
    engine.create(
        "gs_in",
        f"SELECT dst AS acct, kind, b, count(DISTINCT src) AS n, min(ts) AS first_ts FROM bk_gs "
        f"GROUP BY dst, kind, b HAVING count(DISTINCT src) >= {p.min_in}",
    )
    engine.create(
        "gs_out",
        f"SELECT src AS acct, kind, b, count(DISTINCT dst) AS n, max(ts) AS last_ts FROM bk_gs "
        f"GROUP BY src, kind, b HAVING count(DISTINCT dst) >= {p.min_out}",
    )
    engine.create(
        "c_gather_scatter",
        f"SELECT i.acct AS anchor, i.kind, i.b, {_bounds(p.window, 'i')} "
        f"FROM gs_in i JOIN gs_out o ON o.acct = i.acct AND o.kind = i.kind AND o.b = i.b "
        f"WHERE i.first_ts <= o.last_ts",
    )
    engine.create(
        "ct_gather_scatter",
        "SELECT c.anchor, c.kind, c.b, k.tx_id FROM bk_gs k JOIN c_gather_scatter c "
        "ON c.kind = k.kind AND c.b = k.b AND (c.anchor = k.dst OR c.anchor = k.src)",
    )
    _islands(engine, "gather_scatter")


def scatter_gather(engine: Engine, params: Params) -> None:
    """One source pays several intermediaries who each pay the same destination."""
    p = params.scatter_gather
    k = p.min_intermediaries
    _buckets(p.window, "bk_sg", engine)
    # only fan-outs and fan-ins of at least k can take part: prunes hub paths cheaply
    engine.create(
        "sg_out",
        f"SELECT src AS acct, kind, b FROM bk_sg GROUP BY src, kind, b HAVING count(DISTINCT dst) >= {k}",
    )
    engine.create("sg_in", "SELECT DISTINCT dst AS acct FROM bk_sg GROUP BY dst, kind, b "
                  f"HAVING count(DISTINCT src) >= {k}")
    engine.create(
        "sg_paths",
        "SELECT e1.src AS s, e2.dst AS d, e1.dst AS m, e1.tx_id AS t1, e2.tx_id AS t2, e1.kind, e1.b "
        "FROM bk_sg e1 JOIN sg_out o ON o.acct = e1.src AND o.kind = e1.kind AND o.b = e1.b "
        "JOIN e e2 ON e2.src = e1.dst "
        "JOIN sg_in gi ON gi.acct = e2.dst "
        f"WHERE e2.dst <> e1.src AND (e2.ts > e1.ts OR (e2.ts = e1.ts AND e2.seq > e1.seq)) "
        f"AND e2.ts < e1.b * {p.window} - e1.kind * {p.window // 2} + {p.window}",
    )
    engine.create(
        "c_scatter_gather",
        f"SELECT concat(s, '>', d) AS anchor, kind, b, {_bounds(p.window)} FROM sg_paths "
        f"GROUP BY s, d, kind, b HAVING count(DISTINCT m) >= {k}",
    )
    engine.create(
        "ct_scatter_gather",
        "SELECT c.anchor, c.kind, c.b, x.tx_id FROM c_scatter_gather c JOIN "
        "(SELECT concat(s, '>', d) AS anchor, kind, b, t1 AS tx_id FROM sg_paths "
        " UNION SELECT concat(s, '>', d) AS anchor, kind, b, t2 AS tx_id FROM sg_paths) x "
        "ON x.anchor = c.anchor AND x.kind = c.kind AND x.b = c.b",
    )
    _islands(engine, "scatter_gather")


def _trimmed_edges(engine: Engine, name: str, rounds: int = 3) -> None:
    """Edges whose ends can lie on a cycle: drop sources and sinks a few times over."""
    engine.create(name, "SELECT seq, tx_id, src, dst, ts, amount FROM e")
    for _ in range(rounds):
        engine.create(
            f"{name}_n",
            f"SELECT x.seq, x.tx_id, x.src, x.dst, x.ts, x.amount FROM {name} x "
            f"JOIN (SELECT DISTINCT dst AS acct FROM {name}) hi ON hi.acct = x.src "
            f"JOIN (SELECT DISTINCT src AS acct FROM {name}) ho ON ho.acct = x.dst",
        )
        engine.create(name, f"SELECT * FROM {name}_n", materialize=True)


def _path_columns(n: int, known: list[str]) -> str:
    """Columns t1..tn of a path: the ``known`` expressions first, NULL for hops not yet taken."""
    return ", ".join(f"{known[i - 1]} AS t{i}" if i <= len(known) else f"CAST(NULL AS STRING) AS t{i}"
                     for i in range(1, n + 1))


def _hops(n: int, prefix: str = "") -> list[str]:
    return [f"{prefix}t{i}" for i in range(1, n + 1)]


def _append(engine: Engine, table: str, select_sql: str) -> None:
    """Add rows to a table that collects results across the steps of a loop."""
    engine.create(f"{table}_n", f"SELECT * FROM {table} UNION ALL {select_sql}")
    engine.create(table, f"SELECT * FROM {table}_n")


def _path_alerts(engine: Engine, typ: str, paths: str, n: int) -> None:
    """``m_<typ>`` from one row per path (akey, t1..tn): one row per transaction of each path."""
    engine.create(
        f"m_{typ}",
        " UNION ALL ".join(f"SELECT akey, t{i} AS tx_id FROM {paths} WHERE t{i} IS NOT NULL" for i in range(1, n + 1)),
        materialize=True,
    )


def cycle(engine: Engine, params: Params) -> None:
    """Time-ordered simple cycles: a0 -> a1 -> ... -> a0, each payment after the one before.

    A cycle is found once, from its earliest payment, so there are no rotations to remove.
    """
    p = params.cycle
    n = p.max_hops
    _trimmed_edges(engine, "ce")
    tol = p.amount_tolerance
    amount_ok = (
        f"AND CAST(x.amount AS DOUBLE) >= p.last_amount * {1 - tol!r} AND CAST(x.amount AS DOUBLE) <= p.last_amount * {1 + tol!r} "
        if tol >= 0 else ""
    )
    engine.create(
        "cp",
        f"SELECT src AS start_acct, dst AS cur, ts AS t_first, ts AS t_last, seq AS last_seq, "
        f"CAST(amount AS DOUBLE) AS last_amount, "
        f"concat('|', src, '|', dst, '|') AS accts, 1 AS hops, {_path_columns(n, ['tx_id'])} FROM ce",
    )
    engine.create("cyc", f"SELECT CAST(NULL AS STRING) AS akey, {_path_columns(n, [])} FROM cp WHERE 1 = 0")
    for h in range(2, n + 1):
        cols = _path_columns(n, _hops(h - 1, "p.") + ["x.tx_id"])
        closing_only = "AND x.dst = p.start_acct" if h == n else ""
        engine.create(
            "cp_next",
            f"SELECT p.start_acct, x.dst AS cur, p.t_first, x.ts AS t_last, x.seq AS last_seq, "
            f"CAST(x.amount AS DOUBLE) AS last_amount, "
            f"concat(p.accts, x.dst, '|') AS accts, {h} AS hops, {cols} "
            f"FROM cp p JOIN ce x ON x.src = p.cur "
            f"WHERE (x.ts > p.t_last OR (x.ts = p.t_last AND x.seq > p.last_seq)) "
            f"AND x.ts <= p.t_first + {p.window} "
            f"AND (x.dst = p.start_acct OR instr(p.accts, concat('|', x.dst, '|')) = 0) {amount_ok}{closing_only}",
            materialize=True,
        )
        if h >= p.min_hops:
            _append(engine, "cyc", f"SELECT concat('cycle|', t1, '|', t{h}) AS akey, {_path_columns(n, _hops(n))} "
                                   f"FROM cp_next WHERE cur = start_acct")
        engine.create("cp", "SELECT * FROM cp_next WHERE cur <> start_acct")
        if engine.count("cp") == 0:
            break
    _path_alerts(engine, "cycle", "cyc", n)


def pass_through(engine: Engine, params: Params) -> None:
    """Chains of accounts that pass on most of what they receive within ``max_delay``."""
    p = params.pass_through
    n = p.max_length
    keep = 1.0 - p.tolerance
    engine.create(
        "pt_pairs",
        f"SELECT e1.tx_id AS t_in, e2.tx_id AS t_out, e1.src AS a_in, e2.dst AS a_out, e2.ts AS ts_out "
        f"FROM e e1 JOIN e e2 ON e2.src = e1.dst "
        f"WHERE (e2.ts > e1.ts OR (e2.ts = e1.ts AND e2.seq > e1.seq)) AND e2.ts <= e1.ts + {p.max_delay} "
        f"AND e2.currency = e1.currency_received AND e2.amount <= e1.amount_received "
        f"AND CAST(e2.amount AS DOUBLE) >= CAST(e1.amount_received AS DOUBLE) * {keep!r} "
        f"AND e2.dst <> e1.src",
        materialize=True,
    )
    # chain heads: an incoming payment that is not itself passed-on money
    engine.create(
        "pc",
        f"SELECT concat('|', q.t_in, '|', q.t_out, '|') AS pkey, q.t_out AS cur, "
        f"concat('|', q.a_in, '|', e1.dst, '|', q.a_out, '|') AS accts, {_path_columns(n, ['q.t_in', 'q.t_out'])} "
        f"FROM pt_pairs q JOIN e e1 ON e1.tx_id = q.t_in "
        f"LEFT JOIN (SELECT DISTINCT t_out FROM pt_pairs) r ON r.t_out = q.t_in WHERE r.t_out IS NULL",
    )
    engine.create("ptc", f"SELECT CAST(NULL AS STRING) AS akey, {_path_columns(n, [])} FROM pc WHERE 1 = 0")
    for length in range(2, n + 1):
        if length < n:
            cols = _path_columns(n, _hops(length, "p.") + ["q.t_out"])
            engine.create(
                "pc_next",
                f"SELECT concat(p.pkey, q.t_out, '|') AS pkey, q.t_out AS cur, concat(p.accts, q.a_out, '|') AS accts, "
                f"{cols}, p.pkey AS parent_key "
                f"FROM pc p JOIN pt_pairs q ON q.t_in = p.cur WHERE instr(p.accts, concat('|', q.a_out, '|')) = 0",
                materialize=True,
            )
            ends = "LEFT JOIN (SELECT DISTINCT parent_key FROM pc_next) x ON x.parent_key = p.pkey WHERE x.parent_key IS NULL"
        else:
            ends = ""
        if length >= p.min_length:
            # a chain ends where no pair continues it (or at max_length)
            _append(engine, "ptc", f"SELECT concat('pass_through', p.pkey) AS akey, {_path_columns(n, _hops(n, 'p.'))} "
                                   f"FROM pc p {ends}")
        if length == n:
            break
        engine.create("pc", f"SELECT pkey, cur, accts, {', '.join(_hops(n))} FROM pc_next")
        if engine.count("pc") == 0:
            break
    _path_alerts(engine, "pass_through", "ptc", n)


def bipartite(engine: Engine, params: Params) -> None:
    """A set of sources that each pay the same set of destinations within one window."""
    p = params.bipartite
    _buckets(p.window, "bk_bp", engine)
    engine.create(
        "bp_sd",
        f"SELECT DISTINCT k.src, k.dst, k.kind, k.b FROM bk_bp k JOIN "
        f"(SELECT src, kind, b FROM bk_bp GROUP BY src, kind, b "
        f" HAVING count(DISTINCT dst) >= 2 AND count(DISTINCT dst) <= {p.max_source_fanout}) f "
        f"ON f.src = k.src AND f.kind = k.kind AND f.b = k.b",
        materialize=True,
    )
    engine.create(
        "bp_pairs",
        f"SELECT x.kind, x.b, x.dst AS d1, y.dst AS d2 FROM bp_sd x JOIN bp_sd y "
        f"ON y.src = x.src AND y.kind = x.kind AND y.b = x.b AND x.dst < y.dst "
        f"GROUP BY x.kind, x.b, x.dst, y.dst HAVING count(*) >= {p.min_sources}",
    )
    # a group is named by its smallest destination: one that is never the larger of a pair
    engine.create(
        "bp_heads",
        f"SELECT q.kind, q.b, q.d1 AS anchor FROM bp_pairs q "
        f"LEFT JOIN (SELECT DISTINCT kind, b, d2 FROM bp_pairs) r ON r.kind = q.kind AND r.b = q.b AND r.d2 = q.d1 "
        f"WHERE r.d2 IS NULL GROUP BY q.kind, q.b, q.d1 HAVING count(*) + 1 >= {p.min_destinations}",
    )
    engine.create(
        "bp_dst",
        "SELECT kind, b, anchor, anchor AS acct FROM bp_heads UNION "
        "SELECT h.kind, h.b, h.anchor, q.d2 AS acct FROM bp_heads h JOIN bp_pairs q "
        "ON q.kind = h.kind AND q.b = h.b AND q.d1 = h.anchor",
    )
    engine.create(
        "bp_src",
        "SELECT g.kind, g.b, g.anchor, s.src AS acct FROM bp_sd s JOIN bp_dst g "
        "ON g.kind = s.kind AND g.b = s.b AND g.acct = s.dst GROUP BY g.kind, g.b, g.anchor, s.src "
        "HAVING count(*) >= 2",
    )
    engine.create("c_bipartite", f"SELECT anchor, kind, b, {_bounds(p.window)} FROM bp_heads")
    engine.create(
        "ct_bipartite",
        "SELECT DISTINCT g.anchor, g.kind, g.b, k.tx_id FROM bk_bp k "
        "JOIN bp_dst g ON g.kind = k.kind AND g.b = k.b AND g.acct = k.dst "
        "JOIN bp_src s ON s.kind = g.kind AND s.b = g.b AND s.anchor = g.anchor AND s.acct = k.src",
    )
    _islands(engine, "bipartite")


def stack(engine: Engine, params: Params) -> None:
    """Layered bipartite: one bipartite alert's destinations pay on as another's sources."""
    if "bipartite" not in _enabled(params):
        bipartite(engine, params)
    p = params.stack
    engine.create(
        "st_layer",
        "SELECT m.akey, t.src, t.dst, t.ts FROM m_bipartite m JOIN e t ON t.tx_id = m.tx_id",
    )
    engine.create(
        "st_pairs",
        f"SELECT lo.akey AS lower_key, up.akey AS upper_key FROM "
        f"(SELECT DISTINCT akey, dst AS acct FROM st_layer) lo JOIN (SELECT DISTINCT akey, src AS acct FROM st_layer) up "
        f"ON up.acct = lo.acct AND up.akey <> lo.akey "
        f"GROUP BY lo.akey, up.akey HAVING count(*) >= {p.min_shared}",
    )
    engine.create(
        "m_stack",
        "SELECT DISTINCT concat('stack|', s.lower_key, '|', s.upper_key) AS akey, m.tx_id FROM st_pairs s "
        "JOIN m_bipartite m ON m.akey = s.lower_key OR m.akey = s.upper_key",
        materialize=True,
    )


def structuring(engine: Engine, params: Params) -> None:
    """Repeated payments just under a reporting threshold from one account."""
    p = params.structuring
    low = p.threshold * (1 - p.margin)
    _buckets(p.window, "bk_st", engine, where=f"amount >= {_dec(low)} AND amount < {_dec(p.threshold)}")
    engine.create(
        "c_structuring",
        f"SELECT src AS anchor, kind, b, {_bounds(p.window)} FROM bk_st GROUP BY src, kind, b "
        f"HAVING count(*) >= {p.min_transactions}",
    )
    engine.create(
        "ct_structuring",
        "SELECT c.anchor, c.kind, c.b, k.tx_id FROM bk_st k JOIN c_structuring c "
        "ON c.anchor = k.src AND c.kind = k.kind AND c.b = k.b",
    )
    _islands(engine, "structuring")


def associates(engine: Engine, params: Params) -> None:
    """Accounts tied to a small fan-in group: a candidate X has payments with the group's
    receiving account M and with some H (not M) that has payments with at least
    ``min_shared`` accounts of the group. H, M and those accounts close triangles around X.
    Optionally (``min_payments_with_receiver``) repeated dealings with M alone suffice.

    Why: simulators like AMLSim pick a laundering group's accounts among one account's
    neighbours and add the group's edges to the ordinary payment graph, so members whose
    laundering transfers are not visible still trade with the receiver and sit in the same
    dense neighbourhood. One alert per (X, M); its evidence is every payment between X and
    M, between X and each such H, and between each H and the group's accounts.
    """
    if "fan_in" not in _enabled(params):
        fan_in(engine, params)
    p = params.associates
    engine.create(
        "as_grp",
        "SELECT DISTINCT m.akey, t.src AS acct FROM m_fan_in m JOIN e t ON t.tx_id = m.tx_id "
        "UNION SELECT DISTINCT m.akey, t.dst AS acct FROM m_fan_in m JOIN e t ON t.tx_id = m.tx_id",
    )
    # a fan-in alert's payments all go to its receiving account
    engine.create(
        "as_anchor",
        f"SELECT a.akey, a.anchor FROM (SELECT DISTINCT m.akey, t.dst AS anchor FROM m_fan_in m "
        f"JOIN e t ON t.tx_id = m.tx_id) a JOIN (SELECT akey FROM as_grp GROUP BY akey "
        f"HAVING count(*) <= {p.max_group}) g ON g.akey = a.akey",
        materialize=True,
    )
    engine.create(
        "as_adj",
        "SELECT DISTINCT src AS a, dst AS b FROM e UNION SELECT DISTINCT dst AS a, src AS b FROM e",
        materialize=True,
    )
    engine.create(
        "as_hub",
        f"SELECT g.akey, j.b AS h FROM as_anchor an JOIN as_grp g ON g.akey = an.akey "
        f"JOIN as_adj j ON j.a = g.acct WHERE j.b <> an.anchor "
        f"GROUP BY g.akey, j.b HAVING count(DISTINCT g.acct) >= {p.min_shared}",
    )
    engine.create(
        "as_cand",
        "SELECT an.akey, an.anchor, j.b AS x FROM as_anchor an JOIN as_adj j ON j.a = an.anchor "
        "LEFT JOIN as_grp g ON g.akey = an.akey AND g.acct = j.b WHERE g.acct IS NULL",
    )
    repeated = ""
    if p.min_payments_with_receiver > 0:
        engine.create(
            "as_rep",
            f"SELECT c.akey, c.anchor, c.x FROM as_cand c JOIN "
            f"(SELECT src AS a, dst AS b FROM e UNION ALL SELECT dst AS a, src AS b FROM e) t "
            f"ON t.a = c.x AND t.b = c.anchor GROUP BY c.akey, c.anchor, c.x "
            f"HAVING count(*) >= {p.min_payments_with_receiver}",
        )
        repeated = " UNION SELECT akey, anchor, x, CAST(NULL AS STRING) AS h FROM as_rep"
    engine.create(
        "as_pairs",
        "SELECT DISTINCT c.akey, c.anchor, c.x, hb.h FROM as_cand c JOIN as_adj j ON j.a = c.x "
        "JOIN as_hub hb ON hb.akey = c.akey AND hb.h = j.b WHERE hb.h <> c.x" + repeated,
        materialize=True,
    )
    # the key carries both roles for the explanation; the length prefix keeps it unambiguous
    key = "concat('associates|', CAST(length(p.x) AS STRING), '|', p.x, p.anchor)"
    links = (("", "p.x", "p.anchor"), ("", "p.x", "p.h"), ("JOIN as_grp g ON g.akey = p.akey", "p.h", "g.acct"))
    parts = [
        f"SELECT {key} AS akey, t.tx_id FROM as_pairs p {join} JOIN e t ON {cond}"
        for join, a, b in links
        for cond in (f"t.src = {a} AND t.dst = {b}", f"t.src = {b} AND t.dst = {a}")
    ]
    engine.create("m_associates", " UNION ".join(parts), materialize=True)


DETECTORS: dict[str, Step] = {
    "fan_in": fan_in,
    "fan_out": fan_out,
    "gather_scatter": gather_scatter,
    "scatter_gather": scatter_gather,
    "cycle": cycle,
    "bipartite": bipartite,
    "stack": stack,
    "pass_through": pass_through,
    "structuring": structuring,
    "associates": associates,
}
assert tuple(DETECTORS) == DETECTOR_NAMES


def _enabled(params: Params) -> tuple[str, ...]:
    return params.typologies or TYPOLOGIES
