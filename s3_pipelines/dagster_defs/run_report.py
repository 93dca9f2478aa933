"""What `s3-pipelines run` and `demo` print at the end: one line per asset the runs touched (objects,
rows, bad rows, entities, failures, time), read from the runs' own events; and each failed step as
one line naming the asset that failed and the partition, without a stack trace (the run's logs in
the Dagster UI keep the whole story)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import dagster as dg

# per asset role: which materialization metadata counts as objects / rows / bad rows / entities / failures
_OBJECTS = ("objects", "objects_applied")
_ROWS = ("rows", "rows_persisted")
_BAD = ("bad_rows", "rows_skipped_by_error")
_ENTITIES = ("created", "updated", "deleted")
_FAILURES = ("objects_failed", "failed")


@dataclass
class AssetLine:
    asset: str
    partitions: list[str] = field(default_factory=list)
    objects: int = 0
    rows: int = 0
    bad_rows: int = 0
    entities: int = 0
    failures: int = 0
    seconds: float = 0.0
    status: str = "ok"


@dataclass
class StepFailure:
    asset: str
    partition: str | None
    message: str
    run_id: str

    def line(self) -> str:
        where = f"{self.asset} [{self.partition}]" if self.partition else self.asset
        return f"{where}: {self.message} (run {self.run_id[:8]})"


def _value(md: dict, names: tuple[str, ...]) -> int:
    total = 0
    for n in names:
        # figures of a whole partition (records) come with this run's own as `new_<name>`
        v = md.get(f"new_{n}", md.get(n))
        v = getattr(v, "value", v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            total += int(v)
    return total


def failure_message(event: dg.DagsterEvent) -> str:
    """The reason a step failed, in one line: a `Failure`'s description, else the error's last line."""
    data = event.step_failure_data
    if data is None:
        return "failed"
    if data.user_failure_data is not None and data.user_failure_data.description:
        return " ".join(data.user_failure_data.description.split())
    err = data.error
    if err is None:
        return "failed"
    # an error raised inside the step is wrapped; its cause is the user's own error
    while getattr(err, "cause", None) is not None and "DagsterExecutionStepExecutionError" in (err.cls_name or ""):
        err = err.cause
    msg = (err.message or err.cls_name or "error").strip().splitlines()
    text = msg[-1] if msg else "error"
    for prefix in ("dagster._core.definitions.events.Failure: ",):
        text = text.removeprefix(prefix)
    return text


class RunReport:
    """Collects the in-process runs of one command."""

    def __init__(self, defs: dg.Definitions | None = None):
        self.assets: dict[str, AssetLine] = {}
        self.failures: list[StepFailure] = []
        # the assets' steps are named key.to_python_identifier() (the factories' multi_asset names)
        self.by_step: dict[str, list[str]] = {}
        if defs is not None:
            self.index(defs)

    def index(self, defs: dg.Definitions) -> None:
        for key in defs.resolve_asset_graph().get_all_asset_keys():
            self.by_step.setdefault(key.to_python_identifier(), []).append(key.to_user_string())

    def _line(self, asset: str) -> AssetLine:
        return self.assets.setdefault(asset, AssetLine(asset))

    def add(self, result: dg.ExecuteInProcessResult, partition: str | None) -> None:
        for event in result.all_events:
            step = event.step_key
            assets = self.by_step.get(step or "") or ([step.replace("__", "/")] if step else [])
            if event.is_step_materialization:
                mat = event.step_materialization_data.materialization
                self._count(self._line(mat.asset_key.to_user_string()), mat.metadata, partition)
            elif event.is_step_success:
                for a in assets:
                    self._line(a).seconds += (event.event_specific_data.duration_ms or 0) / 1000
            elif event.is_step_failure:
                message = failure_message(event)
                # a `Failure` the data decided (unreadable objects) carries what the step did before
                data = event.step_failure_data.user_failure_data if event.step_failure_data else None
                for a in assets:
                    line = self._line(a)
                    line.status = "FAILED"
                    self._count(line, data.metadata if data is not None and len(assets) == 1 else {}, partition)
                    self.failures.append(StepFailure(a, partition, message, result.run_id))

    @staticmethod
    def _count(line: AssetLine, md, partition: str | None) -> None:
        line.objects += _value(md, _OBJECTS)
        line.rows += _value(md, _ROWS)
        line.bad_rows += _value(md, _BAD)
        line.entities += _value(md, _ENTITIES)
        line.failures += _value(md, _FAILURES)
        if partition and partition not in line.partitions:
            line.partitions.append(partition)

    @property
    def ok(self) -> bool:
        return not self.failures

    def table(self) -> list[str]:
        if not self.assets:
            return []
        width = max(12, *(len(a) for a in self.assets))
        head = (f"{'asset':<{width}} {'partitions':>10} {'objects':>8} {'rows':>10} {'bad rows':>9} {'entities':>9} "
                f"{'failures':>9} {'time':>8}  status")
        out = [head]
        for a in self.assets.values():
            out.append(f"{a.asset:<{width}} {len(a.partitions):>10} {a.objects:>8} {a.rows:>10} {a.bad_rows:>9} "
                       f"{a.entities:>9} {a.failures:>9} {a.seconds:>7.1f}s  {a.status}")
        return out

    def as_json(self) -> dict:
        return {"assets": [asdict(a) for a in self.assets.values()],
                "failures": [asdict(f) for f in self.failures]}
