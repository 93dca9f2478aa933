"""Tables of a catalog on a SQL target (DuckDB or PostgreSQL; the same DDL on both).

Entity fields that are JSON (properties, relations, team) are stored as canonical JSON text
(sorted keys), so both dialects hold and export byte-identical values; `s3p_entity_relations`
indexes identifier-valued relations for finding dependents and for joins."""

from __future__ import annotations

from ..targets import SqlTarget

ENTITIES = "s3p_entities"
RELATIONS = "s3p_entity_relations"
AUDIT = "s3p_audit"
PENDING = "s3p_pending_loads"

ENTITY_COLUMNS = ("blueprint", "identifier", "title", "icon", "team", "properties", "relations",
                  "created_at", "updated_at", "mapping", "object_key")
AUDIT_COLUMNS = ("time", "run_id", "stream", "partition_key", "object_key", "etag", "line", "seq", "mapping",
                 "blueprint", "identifier", "action", "status", "message")
RELATION_COLUMNS = ("blueprint", "identifier", "relation", "target_blueprint", "target_identifier")

TS = "TIMESTAMP WITH TIME ZONE"
DDL = [
    f"CREATE TABLE IF NOT EXISTS {ENTITIES} (blueprint TEXT NOT NULL, identifier TEXT NOT NULL, title TEXT,"
    f" icon TEXT, team TEXT, properties TEXT NOT NULL, relations TEXT NOT NULL, created_at {TS},"
    f" updated_at {TS}, mapping TEXT, object_key TEXT, PRIMARY KEY (blueprint, identifier))",
    f"CREATE TABLE IF NOT EXISTS {RELATIONS} (blueprint TEXT NOT NULL, identifier TEXT NOT NULL,"
    " relation TEXT NOT NULL, target_blueprint TEXT NOT NULL, target_identifier TEXT NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {RELATIONS}_target ON {RELATIONS} (target_blueprint, target_identifier)",
    f"CREATE TABLE IF NOT EXISTS {AUDIT} (time {TS} NOT NULL, run_id TEXT, stream TEXT, partition_key TEXT,"
    " object_key TEXT, etag TEXT, line BIGINT, seq BIGINT, mapping TEXT, blueprint TEXT, identifier TEXT,"
    " action TEXT NOT NULL, status TEXT NOT NULL, message TEXT)",
    # loads of large objects in flight, staged in scratch tables until published (catalog/staged.py)
    f"CREATE TABLE IF NOT EXISTS {PENDING} (load_id TEXT PRIMARY KEY, consumer TEXT NOT NULL,"
    f" bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT, run_id TEXT, started_at {TS})",
]

# temporary tables of one transaction (emptied before each use: a DuckDB session keeps its connection)
TMP_KEYS = "s3p_tmp_keys"
TMP_ENTITIES = "s3p_tmp_entities"
TMP_DDL = [
    f"CREATE TEMP TABLE IF NOT EXISTS {TMP_KEYS} (blueprint TEXT, identifier TEXT)",
    f"CREATE TEMP TABLE IF NOT EXISTS {TMP_ENTITIES} (blueprint TEXT, identifier TEXT, title TEXT, icon TEXT,"
    f" team TEXT, properties TEXT, relations TEXT, created_at {TS}, updated_at {TS}, mapping TEXT, object_key TEXT)",
]

_ready: set[str] = set()


def ensure_catalog(target: SqlTarget) -> None:
    """Create the catalog tables once per target and process."""
    key = f"{target.dialect}:{target!r}"
    if key in _ready:
        return
    for attempt in range(3):
        try:
            with target.transaction() as tx:
                for ddl in DDL:
                    tx.execute(ddl)
            break
        except Exception:  # noqa: BLE001 - two processes creating the tables at once: the loser retries
            if attempt == 2:
                raise
    _ready.add(key)
