"""Names in `pipelines.yaml` and the names Dagster sees.

The file's names may hold capitals and hyphens, as the seeds' do (`demo-conn`, `Koalas`). Dagster
names (resource keys, jobs, sensors, groups, asset key parts) are letters, digits and `_`, so each
other character becomes `_` there: connection `demo-conn` is resource `demo_conn`, stream
`orders-eu` has assets `orders_eu/objects` and `orders_eu/records`, job `orders_eu_job` and sensor
`orders_eu_sensor`. Capitals stay. Two names of one section that become the same Dagster name are
refused by `validate`. The ledger, the CLI and the catalog keep the file's own names.
"""

from __future__ import annotations

import re

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
NAME_RULE = "names are letters, digits, _ and -, starting with a letter or _"


def dagster_name(name: str) -> str:
    """The Dagster-safe spelling of a name of the file (`demo-conn` -> `demo_conn`)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def clashes(names) -> list[tuple[str, str]]:
    """Pairs of different names that share one Dagster name (the later one second)."""
    seen: dict[str, str] = {}
    out = []
    for name in names:
        safe = dagster_name(str(name))
        if safe in seen and seen[safe] != name:
            out.append((seen[safe], str(name)))
        seen.setdefault(safe, str(name))
    return out
