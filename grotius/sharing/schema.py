"""Database migrations of this area (see grotius/store/migrate.py). Append only."""

from ..store.migrate import without_rowid

MIGRATIONS: list[str | dict[str, str]] = [
    # 1: audit log (hash chain, see grotius/sharing/audit.py), object signature checks,
    # sync cursors and runs (grotius/sharing/sync.py)
    """
CREATE TABLE audit_log (
    seq {bigint} NOT NULL PRIMARY KEY,
    at_us {bigint} NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    partner TEXT,
    objects TEXT NOT NULL,
    agreement TEXT,
    request_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_partner ON audit_log (partner, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE TABLE audit_objects (
    object_id TEXT NOT NULL,
    seq {bigint} NOT NULL,
    PRIMARY KEY (object_id, seq)
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY,
    seq {bigint} NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE object_signatures (
    pk {bigint} NOT NULL PRIMARY KEY,
    signer TEXT NOT NULL,
    key_id TEXT NOT NULL,
    status TEXT NOT NULL,
    checked {bigint} NOT NULL
);
CREATE TABLE sync_cursors (
    partner TEXT NOT NULL,
    collection TEXT NOT NULL,
    direction TEXT NOT NULL,
    cursor TEXT NOT NULL,
    updated {bigint} NOT NULL,
    PRIMARY KEY (partner, collection, direction)
);
CREATE TABLE sync_runs (
    rid {pk},
    partner TEXT NOT NULL,
    direction TEXT NOT NULL,
    started {bigint} NOT NULL,
    finished {bigint},
    objects {bigint} NOT NULL DEFAULT 0,
    error TEXT
)
""",
    # 2: partners, their accounts and agreements (grotius/sharing/partners.py); TAXII
    # status resources (grotius/taxii/)
    """
CREATE TABLE partners (
    pid {pk},
    name TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    tlp_max TEXT NOT NULL,
    read_collections TEXT NOT NULL,
    write_collections TEXT NOT NULL,
    communities TEXT NOT NULL,
    public_key TEXT,
    identity_id TEXT,
    url TEXT,
    remote_user TEXT,
    remote_password TEXT,
    agreement_version {bigint} NOT NULL,
    created {bigint} NOT NULL,
    updated {bigint} NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX partners_identity ON partners (identity_id);
CREATE TABLE taxii_status (
    id TEXT NOT NULL PRIMARY KEY,
    principal TEXT NOT NULL,
    api_root TEXT NOT NULL,
    created {bigint} NOT NULL,
    body TEXT NOT NULL
)
""",
    # 3: keys of originators whose objects reach this node relayed by a partner
    """
CREATE TABLE originator_keys (
    identity_id TEXT NOT NULL PRIMARY KEY,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    pinned {bigint} NOT NULL
)
""",
    # 4: sync schedules run by `grotius serve`
    """
CREATE TABLE sync_schedule (
    partner TEXT NOT NULL PRIMARY KEY,
    every {bigint} NOT NULL,
    directions TEXT NOT NULL,
    next_due {bigint} NOT NULL
)
""",
    # 5: every stored version is an object of an audit entry: one B-tree fewer per row on
    # SQLite
    without_rowid("audit_objects", "object_id TEXT NOT NULL, seq INTEGER NOT NULL", "object_id, seq"),
]
