"""Where a stream's partitions start when the file does not say: at the first arrival the ledger
knows of, so the Dagster UI shows the windows that hold data instead of years of empty days.

`resolve_starts(cfg)` is called once per process, by `build_definitions`, and sets every stream's
`partitioning.start` in place (as `check_config` resolves data sources), so what the caller goes on
to do with the config (the `run` command's discovery) uses the starts of its definitions:

- the configured `start`, unchanged;
- else the stream's earliest partition key in the ledger;
- else (nothing registered yet, or the state unreadable) the current day / hour, marked provisional:
  older objects then go to the window they are registered in (s3_pipelines.partitions).

Why processes that resolve at different times agree (the code server, each run's worker, `run`):
a registered key never changes, and no key is ever registered before the earliest key already in
the ledger. A process with a ledger start clamps older objects into that start; a provisional
process registers into the window of the registration instant, which is at or after every key
registered before it (keys are never in the future). So the first key registered fixes a stream's
start for good: every process that loads after it resolves the same start, and every key the ledger
will hold is a partition of its definitions. A process that loaded while the ledger was still empty
starts earlier (at its load) and shows the empty windows before the first arrival too; Dagster
refuses a run of one of those in a process that lacks it (DagsterUnknownPartitionError), and
reloading the code location drops them.

Reading the ledger creates nothing (s3_pipelines.state.readonly) and costs one indexed MIN per
stream (the ledger's (stream, partition_key, status) index answers it without a scan).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from . import partitions
from .config.models import Partitioning, PipelinesConfig
from .state.readonly import read_existing

log = logging.getLogger(__name__)


def first_arrivals(cfg: PipelinesConfig, names: Iterable[str]) -> dict[str, str]:
    """The earliest partition key the ledger holds for each of `names` that has one."""
    target, schema = cfg.state_target()
    found: dict[str, str] = {}
    with read_existing(target, schema=schema) as db:
        if db is None or not db.table_exists("objects"):
            return found
        for name in names:
            row = db.execute("SELECT MIN(partition_key) FROM objects WHERE stream=?", (name,)).fetchone()
            if row is not None and row[0]:
                found[name] = row[0]
    return found


def resolve_starts(cfg: PipelinesConfig, now: dt.datetime | None = None) -> PipelinesConfig:
    """Set every stream's partitions start that the file leaves open; `cfg`, for chaining."""
    todo = [name for name, s in cfg.streams.items() if s.partitioning.start is None]
    if not todo:
        return cfg
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        known = first_arrivals(cfg, todo)
    except Exception as e:  # the state is down or unreadable: the code location still loads
        log.warning("partitions start at the current window: cannot read the ledger's first arrivals "
                    "(%s: %s)", type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
        known = {}
    for name in todo:
        stream, key = cfg.streams[name], known.get(name)
        granularity = stream.partitioning.granularity
        try:  # min: a key after now (a host whose clock is ahead) must not leave us without partitions
            first = now if key is None else min(partitions.parse_key(key), now)
        except ValueError:  # not a key of ours: as if nothing had arrived, rather than no code location
            first, key = now, None
        p = Partitioning(granularity=granularity, start=partitions.floor(first, granularity))
        p._provisional = key is None
        stream.partitioning = p  # a new object: a Partitioning shared by streams stays as it was
    return cfg
