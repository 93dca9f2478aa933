"""The data source registry (Immuta's native S3 data sources, seed 004): named prefixes of S3
connections, kept in the state database beside the load ledger, with an audit table of every change.

- from the file (`datasources:`) and from the CLI (`s3-pipelines datasources create`);
- `service.create` checks that the prefix is reachable with the connection's credentials (a list call) and
  that no active data source of that connection has the same or an overlapping prefix;
- the first `delete` disables (the sensors of streams selecting it skip, its asset says disabled),
  the second removes it (`validate` then reports the streams still naming it);
- object count, bytes and the newest object's time come from a listing (at create, and on every
  tick of the observation sensor in Dagster).

A data source's prefix is relative to its connection's prefix, like every prefix in `select`.
`store`: the tables and their SQL; `service`: create, delete, register, observe; `references`: the
file's references (checked by `s3_pipelines.check`).
"""

from .references import config_problems, resolve_streams
from .service import (ClientFor, create, default_client_for, delete, normalize_prefix, observe, scan_prefix,
                      status_reason, streams_naming, sync_config)
from .store import (DataSource, DataSourceError, PrefixStats, Registry, open_ledger, os_user, overlaps,
                    state_database, state_exists)

__all__ = ["ClientFor", "DataSource", "DataSourceError", "PrefixStats", "Registry", "config_problems", "create",
           "default_client_for", "delete", "normalize_prefix", "observe", "open_ledger", "os_user", "overlaps",
           "resolve_streams", "scan_prefix", "state_database", "state_exists", "status_reason", "streams_naming",
           "sync_config"]
