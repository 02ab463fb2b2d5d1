"""Database migrations of this area (see grotius/store/migrate.py). Append only.

The index holds one row per distinct clean value and one per (value, object version)
mention: storage grows with values and mentions, never with pairs of objects (the MISP
correlation table's failure mode). IP bounds are fixed-width hex text because IPv6 does
not fit a 64-bit integer column and text compares the same way on both engines.
"""

from grotius.store.migrate import without_rowid

MIGRATIONS: list[str | dict[str, str]] = [
    """
CREATE TABLE correlate_values (
    vid {pk},
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    rkey TEXT,
    lo TEXT,
    hi TEXT,
    plen INTEGER,
    flags TEXT
);
CREATE UNIQUE INDEX correlate_values_kv ON correlate_values (kind, value);
CREATE INDEX correlate_values_rkey ON correlate_values (rkey);
CREATE INDEX correlate_values_lo ON correlate_values (kind, lo);
CREATE TABLE correlate_plens (
    kind TEXT NOT NULL,
    plen INTEGER NOT NULL,
    PRIMARY KEY (kind, plen)
);
CREATE TABLE correlate_mentions (
    vid {bigint} NOT NULL,
    pk {bigint} NOT NULL,
    src TEXT NOT NULL,
    PRIMARY KEY (vid, pk)
);
CREATE INDEX correlate_mentions_pk ON correlate_mentions (pk);
CREATE TABLE correlate_unreduced (
    pk {bigint} NOT NULL,
    path TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX correlate_unreduced_pk ON correlate_unreduced (pk);
CREATE TABLE correlate_exclusions (
    xid {pk},
    list TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created {bigint} NOT NULL
);
CREATE UNIQUE INDEX correlate_exclusions_lkv ON correlate_exclusions (list, kind, value);
CREATE TABLE correlate_lists (
    name TEXT NOT NULL PRIMARY KEY,
    enabled INTEGER NOT NULL
);
CREATE TABLE correlate_leads (
    lead_id TEXT NOT NULL PRIMARY KEY,
    incoming_id TEXT NOT NULL,
    held_id TEXT NOT NULL,
    status TEXT NOT NULL,
    score {float} NOT NULL,
    tlp TEXT NOT NULL,
    sources TEXT NOT NULL,
    summary TEXT NOT NULL,
    created {bigint} NOT NULL,
    updated {bigint} NOT NULL
);
CREATE INDEX correlate_leads_status ON correlate_leads (status, score);
CREATE TABLE correlate_lead_values (
    lead_id TEXT NOT NULL,
    vid {bigint} NOT NULL,
    PRIMARY KEY (lead_id, vid)
);
CREATE INDEX correlate_lead_values_vid ON correlate_lead_values (vid)
""",
    # 2: one B-tree fewer written per mention on SQLite
    without_rowid("correlate_mentions", "vid INTEGER NOT NULL, pk INTEGER NOT NULL, src TEXT NOT NULL", "vid, pk",
                  ["CREATE INDEX correlate_mentions_pk ON correlate_mentions (pk)"]),
]
