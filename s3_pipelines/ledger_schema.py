"""The ledger's tables: its versioned migrations (component "ledger" in `schema_version`)."""

from __future__ import annotations

from .state import Migration, StateConn

# Versioned schema of the "ledger" component (table `schema_version`). Portable SQL in SQLite's
# spelling; PostgreSQL maps the types (s3_pipelines.state.postgres). Append a step; never edit one.
MIGRATIONS = [
    Migration(1, "objects, bad records, cursors", """
CREATE TABLE IF NOT EXISTS objects (
    stream TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    size INTEGER NOT NULL, last_modified TEXT NOT NULL, partition_key TEXT NOT NULL,
    status TEXT NOT NULL, rows INTEGER, bad_rows INTEGER,
    discovered_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    run_id TEXT, staged TEXT, error TEXT,
    PRIMARY KEY (stream, bucket, key, etag)
);
CREATE INDEX IF NOT EXISTS objects_by_partition ON objects (stream, partition_key, status);
CREATE INDEX IF NOT EXISTS objects_by_key ON objects (stream, bucket, key);
CREATE TABLE IF NOT EXISTS bad_records (
    stream TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    line INTEGER, reason TEXT NOT NULL, run_id TEXT, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bad_by_object ON bad_records (stream, bucket, key, etag);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, cursor TEXT NOT NULL, updated_at TEXT NOT NULL)
"""),
    Migration(2, "partition runs", """
CREATE TABLE IF NOT EXISTS partition_runs (
    stream TEXT NOT NULL, partition_key TEXT NOT NULL, run_id TEXT NOT NULL, started_at TEXT NOT NULL,
    PRIMARY KEY (stream, partition_key)
)
"""),
    Migration(3, "leases", "CREATE TABLE IF NOT EXISTS leases (run_id TEXT PRIMARY KEY, holder TEXT NOT NULL,"
                           " expires_at TEXT NOT NULL)"),
    Migration(4, "index by status (pending and loading objects of a stream)",
              "CREATE INDEX IF NOT EXISTS objects_by_status ON objects (stream, status, discovered_at)"),
    # a failed object version: how often it was read in vain, and when the sensor may try it again
    # (NULL: never by itself; runs launched by hand and `s3-pipelines run` retry it at once).
    # Nullable: PostgreSQL's bulk insert copies into a `LIKE objects` table, which has no defaults
    Migration(5, "retries of failed objects", "ALTER TABLE objects ADD COLUMN attempts INTEGER DEFAULT 0;"
                                              " ALTER TABLE objects ADD COLUMN retry_at TEXT"),
]


def unversioned_version(db: StateConn) -> int:
    """The version of a ledger made before versions were recorded, from the tables it has."""
    for version, table in ((3, "leases"), (2, "partition_runs"), (1, "objects")):
        if db.table_exists(table):
            return version
    return 0
