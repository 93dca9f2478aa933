"""What the Dagster UI shows of a stream after its runs (issue 14), read from a real instance's event
log: `<stream>/objects` ends a run with each object's status after the load; a run with nothing
new keeps the partition's rows, row count, column schema and preview as the latest figures; the
`parse_errors` check says which problems a run found; tables and entities carry a row count."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import boto3
import dagster as dg
import pytest

from s3_pipelines.check import load_checked
from s3_pipelines.dagster_defs import build_definitions
from s3_pipelines.dagster_defs.run_report import RunReport

from ..cli_tests.test_seed_names import config_text

JOB = "Koalas_2024_job"
OBJECTS, RECORDS = dg.AssetKey(["Koalas_2024", "objects"]), dg.AssetKey(["Koalas_2024", "records"])
TABLE, ENTITIES = dg.AssetKey(["tables", "Koalas"]), dg.AssetKey(["Koalas_2024", "entities", "sessions"])


def jsonl_gz(*lines: str) -> bytes:
    return gzip.compress("".join(line + "\n" for line in lines).encode())


def session(i: int) -> str:
    return json.dumps({"city": "Sydney", "session": f"S{i}", "session_length": i})


class Lake:
    def __init__(self, tmp_path, server, bucket):
        config = tmp_path / "pipelines.yaml"
        config.write_text(config_text(server, bucket))
        self.defs = build_definitions(load_checked(config))
        self.s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                               aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)
        self.bucket = bucket
        self.instance = dg.DagsterInstance.ephemeral()
        self.partition = dt.datetime.now(dt.timezone.utc).date().isoformat()

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def run(self) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(JOB).execute_in_process(
            partition_key=self.partition, instance=self.instance, raise_on_error=False)

    def _filter(self, key):
        return dg.AssetRecordsFilter(asset_key=key, asset_partitions=[self.partition])

    def latest_materialization(self, key: dg.AssetKey):
        records = self.instance.fetch_materializations(self._filter(key), limit=1).records
        assert records, key
        return records[0]

    def latest_observation(self, key: dg.AssetKey):
        records = self.instance.fetch_observations(self._filter(key), limit=1).records
        assert records, key
        return records[0]


@pytest.fixture
def lake(tmp_path, moto_server, new_bucket, monkeypatch) -> Lake:
    bucket = new_bucket(moto_server).bucket
    monkeypatch.setenv("S3P_NAMES_KEY", moto_server.access_key)
    monkeypatch.setenv("S3P_NAMES_SECRET", moto_server.secret_key)
    return Lake(tmp_path, moto_server, bucket)


def values(md) -> dict:
    return {k: getattr(v, "value", v) for k, v in md.items()}


def test_objects_end_a_run_with_their_status_after_the_load(lake):
    lake.put("sessions/a.jsonl.gz", jsonl_gz(session(1), session(2)))
    lake.put("sessions/b.jsonl.gz", b"\x1f\x8b\x08\x00 not gzip at all")  # unreadable: fails
    result = lake.run()

    listed = lake.latest_materialization(OBJECTS)
    observed = lake.latest_observation(OBJECTS)
    assert observed.run_id == result.run_id and observed.storage_id > listed.storage_id  # the latest event
    md = values(observed.asset_observation.metadata)
    statuses = {r.data["key"]: (r.data["status"], r.data["rows"]) for r in md["objects_list"].records}
    assert statuses == {"sessions/a.jsonl.gz": ("loaded", 2), "sessions/b.jsonl.gz": ("failed", 0)}
    assert (md["objects_loaded"], md["objects_failed"], md["rows"], md["partition"]) == (1, 1, 2, lake.partition)
    assert "1 failed" in observed.asset_observation.description and "1 loaded" in observed.asset_observation.description
    # the listing itself claims no status it cannot know before the load
    listing = values(listed.asset_materialization.metadata)
    assert "status" not in listing["objects_list"].records[0].data and listing["objects"] == 2

    failed = next(r.data for r in md["objects_list"].records if r.data["status"] == "failed")
    assert failed["error"] and "b.jsonl.gz" in failed["error"]


def test_a_run_with_nothing_new_keeps_the_partitions_figures(lake):
    lake.put("sessions/a.jsonl.gz", jsonl_gz(session(1), session(2), "{not json"))
    lake.put("sessions/b.jsonl.gz", jsonl_gz(session(3)))
    first = lake.run()
    assert first.success
    md1 = values(lake.latest_materialization(RECORDS).asset_materialization.metadata)
    assert (md1["objects"], md1["rows"], md1["bad_rows"], md1["dagster/row_count"]) == (2, 3, 1, 3)
    check1 = first.get_asset_check_evaluations()
    parse1 = next(e for e in check1 if e.check_name == "parse_errors")
    assert not parse1.passed and "1 bad record(s) new in this run" in parse1.description

    report = RunReport(lake.defs)
    second = lake.run()  # nothing new
    assert second.success
    report.add(second, lake.partition)
    latest = lake.latest_materialization(RECORDS)
    assert latest.run_id == second.run_id
    md2 = values(latest.asset_materialization.metadata)
    assert (md2["objects"], md2["rows"], md2["bad_rows"], md2["dagster/row_count"]) == (2, 3, 1, 3)
    assert (md2["new_objects"], md2["new_rows"], md2["new_bad_rows"]) == (0, 0, 0)
    assert (md1["new_objects"], md1["new_rows"], md1["new_bad_rows"]) == (2, 3, 1)  # the first run's own
    # the preview and column schema come from the staged records when nothing new was read
    assert {r.data["session"] for r in md2["preview"].records} <= {"S1", "S2", "S3"} and md2["preview"].records
    assert {"city", "session", "session_length", "_s3_key"} <= {c.name for c in md2["dagster/column_schema"].columns}
    # what `s3-pipelines run` prints for this run: its own counts, not the partition's
    line = report.assets["Koalas_2024/records"]
    assert (line.objects, line.rows, line.bad_rows) == (0, 0, 0)

    # the check still judges the partition (no false pass) and says the problem is not new
    parse2 = next(e for e in second.get_asset_check_evaluations() if e.check_name == "parse_errors")
    assert not parse2.passed and parse2.severity == dg.AssetCheckSeverity.WARN
    assert parse2.description == (f"partition {lake.partition}: 0 unreadable object(s), 0 skipped, 1 bad record(s)"
                                  " (none new in this run: found by an earlier run)")
    md = values(parse2.metadata)
    assert (md["bad_records"], md["new_bad_records"], md["partition"]) == (1, 0, lake.partition)
    assert [r.data["new"] for r in md["samples"].records] == [False]

    # downstream assets of the same run still ran, with their standard row count
    for key, rows in ((TABLE, 1), (ENTITIES, 3)):
        mat = lake.latest_materialization(key)
        assert mat.run_id == second.run_id, key
        assert values(mat.asset_materialization.metadata)["dagster/row_count"] == rows, key

    # a new object: the partition's figures grow, this run's are the new object's alone
    lake.put("sessions/c.jsonl.gz", jsonl_gz(session(4), session(5)))
    third = lake.run()
    report = RunReport(lake.defs)
    report.add(third, lake.partition)
    md3 = values(lake.latest_materialization(RECORDS).asset_materialization.metadata)
    assert (md3["objects"], md3["rows"], md3["new_objects"], md3["new_rows"]) == (3, 5, 1, 2)
    assert {r.data["session"] for r in md3["preview"].records} == {"S4", "S5"}  # what this run read
    line = report.assets["Koalas_2024/records"]
    assert (line.objects, line.rows, line.bad_rows) == (1, 2, 0)
    parse3 = next(e for e in third.get_asset_check_evaluations() if e.check_name == "parse_errors")
    assert parse3.description.endswith("1 bad record(s) (none new in this run: found by an earlier run)")
