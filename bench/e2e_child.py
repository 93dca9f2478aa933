"""One end-to-end variant in a fresh process; prints seconds, rows and peak RSS as JSON.

  floor  ENDPOINT BUCKET KEY WORKDIR   GET the object, gunzip, parse with pyarrow (nothing written)
  ours   ENDPOINT BUCKET KEY WORKDIR   the engine: GET -> staging -> reference mapping -> DuckDB catalog
  dlt    ENDPOINT BUCKET KEY WORKDIR   dlt's filesystem source + read_jsonl -> DuckDB (parquet loader files)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .rss import peak_rss_mb

KEY_ID, SECRET = "bench", "bench"


def floor(endpoint: str, bucket: str, key: str, work: Path) -> int:
    import zlib

    import boto3
    import pyarrow as pa
    import pyarrow.json as pj

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
                      aws_secret_access_key=SECRET)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    d = zlib.decompressobj(wbits=31)
    rows, rest = 0, b""
    while True:
        piece = body.read(8 << 20)
        if not piece:
            break
        data = rest + d.decompress(piece)
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            rows += pj.read_json(pa.py_buffer(data[:cut])).num_rows
    data = rest + d.flush()
    if data.strip():
        rows += pj.read_json(pa.py_buffer(data)).num_rows
    return rows


def config(endpoint: str, bucket: str, key: str, work: Path):
    from s3_pipelines.config.models import PipelinesConfig

    from .mapping import REFERENCE

    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = KEY_ID, SECRET
    return PipelinesConfig.model_validate({
        "connections": {
            "lake": {"type": "s3", "bucket": bucket, "endpoint_url": endpoint,
                     "auth": {"mode": "access_key_and_secret", "aws_access_key_id": {"env": "BENCH_KEY"},
                              "aws_secret_access_key": {"env": "BENCH_SECRET"}}},
            "catalog": {"type": "duckdb", "path": str(work / "catalog.duckdb")}},
        "streams": {"bench": {"connection": "lake", "select": {"objects": [key]}, "format": "jsonl"}},
        "blueprints": {
            "team": {"properties": {}},
            "user": {"properties": {}},
            "account": {"title": "Account",
                        "properties": {"status": {"type": "string", "enum": ["active", "pending", "archived"]},
                                       "amount": {"type": "number"}, "count": {"type": "number"},
                                       "region": {"type": "string"},
                                       "createdAt": {"type": "string", "format": "date-time"}},
                        "relations": {"team": {"target": "team"}, "owner": {"target": "user"}}}},
        "mappings": [{"name": "reference", "stream": "bench", "target": "catalog", "blueprint": "account",
                      "filter": REFERENCE.filter,
                      "entity": {"identifier": REFERENCE.identifier, "title": REFERENCE.title,
                                 "properties": REFERENCE.properties, "relations": REFERENCE.relations}}],
    })


def ours(endpoint: str, bucket: str, key: str, work: Path) -> dict:
    from s3_pipelines import ingest
    from s3_pipelines.catalog import apply_partition
    from s3_pipelines.catalog.entities import entity_config
    from s3_pipelines.connections.s3 import S3Client
    from s3_pipelines.ledger import Ledger
    from s3_pipelines.mapping import compile_mapping
    from s3_pipelines.staging import StagingStore
    from s3_pipelines.targets import open_target

    cfg = config(endpoint, bucket, key, work)
    client = S3Client.from_config(cfg.s3_connection("lake"))
    stream = cfg.streams["bench"]
    ledger = Ledger(work / "ledger.sqlite")
    staging = StagingStore(work / "staging")
    ec = entity_config(cfg)
    mapping = compile_mapping(ec.mapping("reference"))
    target = open_target(cfg, "catalog")
    obj = client.head(key)
    ledger.register("bench", [obj], lambda o: "p")
    ledger.claim("bench", "p", "bench-run")
    t = time.perf_counter()
    loaded = ingest.load_object(client, "bench", stream, obj, "p", staging, ledger, "bench-run")
    assert loaded.status == "loaded", loaded.error
    t_ingest = time.perf_counter() - t
    report = apply_partition(target, ec, mapping, ledger, staging, "p", "bench-run")
    c = report.total()
    return {"rows": loaded.rows, "ingest_seconds": t_ingest, "entities": c.created + c.updated, "failed": c.failed,
            "filtered_out": report.filtered_out}


def dlt_load(endpoint: str, bucket: str, key: str, work: Path) -> int:
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["DLT_DATA_DIR"] = str(work / "dlt-data")
    import dlt
    from dlt.common.configuration.specs import AwsCredentials
    from dlt.sources.filesystem import filesystem, read_jsonl

    creds = AwsCredentials(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, endpoint_url=endpoint,
                           region_name="us-east-1")
    files = filesystem(bucket_url=f"s3://{bucket}/", credentials=creds, file_glob=key)
    pipeline = dlt.pipeline(pipeline_name="bench_e2e", destination=dlt.destinations.duckdb(str(work / "dlt.duckdb")),
                            dataset_name="bench", pipelines_dir=str(work / "dlt-pipelines"))
    pipeline.run((files | read_jsonl()).with_name("records"), loader_file_format="parquet")
    import duckdb

    with duckdb.connect(str(work / "dlt.duckdb"), read_only=True) as con:
        return con.sql("SELECT count(*) FROM bench.records").fetchall()[0][0]


def main(what: str, endpoint: str, bucket: str, key: str, workdir: str) -> None:
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    if what == "floor":
        out = {"rows": floor(endpoint, bucket, key, work)}
    elif what == "ours":
        out = ours(endpoint, bucket, key, work)
    elif what == "dlt":
        out = {"rows": dlt_load(endpoint, bucket, key, work)}
    else:
        raise SystemExit(f"unknown variant {what}")
    out["seconds"] = time.perf_counter() - t
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:6])
