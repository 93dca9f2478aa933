"""Sensors over real listings of a local S3 server, evaluated with build_sensor_context."""

import datetime as dt

import dagster as dg

from s3_pipelines.dagster_defs import build_definitions

from .conftest import jsonl_gz, user_key, users


def tick(defs, instance, name, cursor):
    sensor = defs.resolve_sensor_def(f"{name}_sensor")
    # a context manager: the state resource holds its staging connection as a nested resource
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources,
                                 definitions=defs) as ctx:
        result = sensor.evaluate_tick(ctx)  # the daemon's path
    return result, result.cursor


def test_new_object_once_changed_etag_again_deleted_cursor_key_ok(pipeline):
    defs = build_definitions(pipeline.load())
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(defs, instance, "users", None)
        assert len(first.run_requests) >= 1
        assert all(r.tags["s3_pipelines/discovered"] == "1" for r in first.run_requests)
        assert len(cursor.encode()) < 1024

        again, cursor = tick(defs, instance, "users", cursor)
        assert not again.run_requests  # nothing new: nothing requested

        # a new object is picked up, once
        newest = user_key(1_763_700_000)
        pipeline.put(newest, jsonl_gz(users(5, 100)))
        found, cursor = tick(defs, instance, "users", cursor)
        assert len(found.run_requests) == 1
        assert not tick(defs, instance, "users", cursor)[0].run_requests

        # the same key with new content (new ETag) comes again
        pipeline.put(newest, jsonl_gz(users(6, 100)))
        # start_after does not see a rewrite of an old key; the sensor of a watermark stream does
        # (covered below); with a fresh cursor the ledger still tells new ETags from known ones
        changed, _ = tick(defs, instance, "users", None)
        assert len(changed.run_requests) == 1

        # the object named in the cursor is deleted: the next tick still works and finds newer keys
        pipeline.delete(newest)
        later = user_key(1_763_800_000)
        pipeline.put(later, jsonl_gz(users(2, 200)))
        after_delete, cursor2 = tick(defs, instance, "users", cursor)
        assert len(after_delete.run_requests) == 1
        assert len(cursor2.encode()) < 1024


def test_watermark_stream_sees_overwritten_object(pipeline):
    defs = build_definitions(pipeline.load())  # `orders` uses the default watermark listing
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(defs, instance, "orders", None)
        assert len(first.run_requests) == 1
        assert not tick(defs, instance, "orders", cursor)[0].run_requests
        pipeline.put("exports/2026/orders.csv", b"order_id,customer,amount,status,note\n1,a,2.5,paid,\n")
        changed, cursor = tick(defs, instance, "orders", cursor)
        assert len(changed.run_requests) == 1


def test_pending_objects_whose_run_never_claimed_them_are_requested_again(pipeline, monkeypatch):
    from s3_pipelines.dagster_defs import sensors

    defs = build_definitions(pipeline.load())
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(defs, instance, "users", None)
        assert first.run_requests
        # the requested runs never happened: nothing new, but once pending objects are old enough...
        assert not tick(defs, instance, "users", cursor)[0].run_requests
        monkeypatch.setattr(sensors, "RETRY_PENDING_AFTER", dt.timedelta(seconds=-1))
        retry, _ = tick(defs, instance, "users", cursor)
        assert [r.partition_key for r in retry.run_requests] == [r.partition_key for r in first.run_requests]
        assert all(":retry:" in r.run_key for r in retry.run_requests)


def _status_tick(defs, instance, sensor_name, run, event_type):
    """A run-status sensor evaluated as the daemon does when `run` reaches `event_type`."""
    event = dg.DagsterEvent(event_type_value=event_type, job_name=run.job_name)
    sensor = defs.resolve_sensor_def(sensor_name)
    with dg.build_run_status_sensor_context(sensor_name=sensor_name, dagster_event=event, dagster_instance=instance,
                                            dagster_run=run, resources=defs.resources) as ctx:
        return sensor(ctx.for_run_failure() if event_type == "PIPELINE_FAILURE" else ctx)


def test_run_status_sensors_close_partitions_and_give_back_claims_of_failed_runs(pipeline):
    from s3_pipelines.ledger import Ledger

    cfg = pipeline.load()
    defs = build_definitions(cfg)
    ledger = Ledger(cfg.ledger_path())
    with dg.DagsterInstance.ephemeral() as instance:
        first, _ = tick(defs, instance, "users", None)
        request = first.run_requests[0]
        part, job = request.partition_key, defs.resolve_job_def("users_job")
        tags = {"dagster/partition": part}
        failed = instance.create_run_for_job(job, tags=tags, status=dg.DagsterRunStatus.FAILURE)
        ledger.open_partition_run("users", part, failed.run_id)
        held = ledger.claim("users", part, failed.run_id)
        assert held and {r.status for r in ledger.rows("users", part)} == {"loading"}

        _status_tick(defs, instance, "partition_run_failed", failed, "PIPELINE_FAILURE")
        assert {r.status for r in ledger.rows("users", part)} == {"pending"}  # back at once, no lease to wait for
        assert ledger.lease_expired(failed.run_id)
        assert ledger.open_partition_runs("users") == {part: failed.run_id}  # still to be finished by a run

        done = instance.create_run_for_job(job, tags=tags, status=dg.DagsterRunStatus.SUCCESS)
        ledger.open_partition_run("users", part, done.run_id)
        _status_tick(defs, instance, "partition_run_succeeded", done, "PIPELINE_SUCCESS")
        assert ledger.open_partition_runs("users") == {}

        # runs of other jobs, or without a partition, are none of their business
        other = instance.create_run_for_job(job, status=dg.DagsterRunStatus.FAILURE)
        _status_tick(defs, instance, "partition_run_failed", other, "PIPELINE_FAILURE")
