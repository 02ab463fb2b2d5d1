"""Database migrations of this area (see grotius/store/migrate.py). Append only."""

MIGRATIONS: list[str] = [
    """
CREATE TABLE matching_budgets (
    partner TEXT PRIMARY KEY,
    max_values {bigint} NOT NULL,
    period_s {bigint} NOT NULL,
    max_runs {bigint} NOT NULL
);
CREATE TABLE matching_runs (
    rid {pk},
    session TEXT NOT NULL,
    partner TEXT NOT NULL,
    role TEXT NOT NULL,
    started_us {bigint} NOT NULL,
    size {bigint} NOT NULL,
    peer_size {bigint} NOT NULL,
    hits {bigint},
    status TEXT NOT NULL
);
CREATE UNIQUE INDEX matching_runs_session ON matching_runs (session, role);
CREATE INDEX matching_runs_partner ON matching_runs (partner, started_us);
CREATE TABLE matching_hits (
    rid {bigint} NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX matching_hits_rid ON matching_hits (rid)
""",
    # requests for information (grotius/matching/requests.py): one row per request, kept
    # in step with the stored x-grotius-request / -decision versions by an ingest hook
    """
CREATE TABLE matching_requests (
    request_id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    partner TEXT NOT NULL,
    status TEXT NOT NULL,
    urgency TEXT NOT NULL,
    deadline TEXT NOT NULL,
    summary TEXT NOT NULL,
    decision_id TEXT,
    delivered_us {bigint},
    created_us {bigint} NOT NULL,
    updated_us {bigint} NOT NULL
);
CREATE INDEX matching_requests_updated ON matching_requests (updated_us)
""",
    # the per-agreement key of the fuzzy (encoded names) exchange, encrypted under the
    # node secret (grotius/matching/fuzzy.py)
    """
CREATE TABLE matching_fuzzy_keys (
    partner TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    key_enc TEXT NOT NULL,
    set_us {bigint} NOT NULL
)
""",
]
