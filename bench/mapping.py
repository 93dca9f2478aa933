"""Mapping throughput of the reference mapping (issue 5): the compiled path (vectorized over Arrow)
vs the jq engine, on records read by the engine's own JSON Lines reader.

Baseline (ratio 1.00): the jq engine as the catalog used it before the compiled path — one jq
program per mapping, every record's expressions in one pass (`map_batch(engine="jq")`). Also
measured: Port's own way (one jq program per field, run per record), the compiled path, and
DuckDB SQL doing the same filter and projection over the same Arrow batches (a ceiling: no jq
semantics, no per-entity results). The compiled path is measured twice: to entity results (Python
objects, one per entity: the catalog's row path) and to entity columns (what the catalog's bulk
path writes from). Records/s are medians of `repeats` runs; the slow jq
variants run on a slice of the records (named in the table) to keep the run short."""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path

from s3_pipelines.mapping import MappingSpec, compile_mapping
from s3_pipelines.readers import LocalFileSource, ReadOptions, read_batches

from .common import median, print_table
from .data import write_records_gz

REFERENCE = MappingSpec(
    name="reference", stream="bench", target="catalog", blueprint="account",
    filter='.body.status != "archived" and .body.active',
    identifier=".body.key", title=".body.name",
    properties={"status": ".body.status", "amount": ".body.amount", "count": ".body.count",
                "region": ".body.meta.region", "createdAt": ".body.created_at"},
    relations={"team": ".body.meta.owner.team", "owner": ".body.email"},
)

def read_records(path: Path):
    bad: list = []
    batches = list(read_batches(LocalFileSource(path), None, ReadOptions(format="jsonl"), bad.append))
    assert not bad, bad[:3]
    return batches


def _slice(batches, n: int):
    out, left = [], n
    for b in batches:
        if left <= 0:
            break
        out.append(b.slice(0, left))
        left -= min(left, b.num_rows)
    return out


def _timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return median(times)


def _port_style(batches, key: str) -> int:
    """Port's integrations: every field its own jq program, run per record."""
    from s3_pipelines.mapping import batch_records
    from s3_pipelines.mapping.port_jq import compile_jq

    progs = {name: compile_jq(e) for name, e in [("filter", REFERENCE.filter), ("identifier", REFERENCE.identifier),
                                                   ("title", REFERENCE.title), *REFERENCE.properties.items(),
                                                   *REFERENCE.relations.items()]}
    made = 0
    for b in batches:
        records, _ = batch_records(b)
        for rec in records:
            rec["_PORT_SOURCE_OBJECT_KEY"] = key
            value = {"body": rec, "headers": {}, "queryParams": {}}
            if progs["filter"].input_value(value).first() is not True:
                continue
            {name: p.input_value(value).first() for name, p in progs.items() if name != "filter"}
            made += 1
    return made


def _duckdb_sql(batches) -> int:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.register("src", pa.Table.from_batches(batches))
    sql = ("SELECT key AS identifier, name AS title, status, amount, count, meta.region AS region, "
           "created_at AS createdAt, meta.owner.team AS team, email AS owner FROM src "
           "WHERE status IS DISTINCT FROM 'archived' AND active")
    return con.sql(sql).to_arrow_table().num_rows


def run(records: int = 1_000_000, jq_records: int = 100_000, port_records: int = 20_000, repeats: int = 3) -> dict:
    key = "data/bench/reference.jsonl.gz"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.jsonl.gz"
        t = time.perf_counter()
        write_records_gz(path, records)
        batches = read_records(path)
        print(f"{records:,} records ({path.stat().st_size / 1e6:.0f} MB gzip) made and read in {time.perf_counter() - t:.0f}s")
    mapping = compile_mapping(REFERENCE)
    decisions = mapping.explain(batches[0].schema)
    compiled = sum(d.engine == "compiled" for d in decisions)
    print(f"reference mapping: {compiled} of {len(decisions)} expressions compiled")
    for d in decisions:
        if d.engine != "compiled":
            print(f"  {d.where}: jq ({d.why})")

    # same results on the jq slice: the compiled path is only worth measuring if it is right
    jq_part = _slice(batches, jq_records)
    want = [mapping.map_batch(b, key, engine="jq") for b in jq_part]
    got = [mapping.map_batch(b, key) for b in jq_part]
    assert [(o.filtered_out, o.results) for o in got] == [(o.filtered_out, o.results) for o in want], \
        "compiled path differs from the jq engine"
    entities = sum(len(o.results) for o in got)

    def jq_engine():
        for b in jq_part:
            mapping.map_batch(b, key, engine="jq")

    def compiled_path():
        for b in batches:
            mapping.map_batch(b, key)

    def compiled_columns():
        for b in batches:
            mapping.map_batch(b, key, columnar=True)

    port_part = _slice(batches, port_records)
    rows = []
    base_t = _timed(jq_engine, max(1, repeats - 2))
    base = jq_records / base_t
    port_t = _timed(lambda: _port_style(port_part, key), 1)
    comp_t = _timed(compiled_path, repeats)
    cols_t = _timed(compiled_columns, repeats)
    sql_t = _timed(lambda: _duckdb_sql(batches), repeats)
    for what, n, secs in [("jq engine: one program per mapping, per record (baseline)", jq_records, base_t),
                          ("jq, one program per field per record (Port's integrations)", port_records, port_t),
                          ("compiled path -> entity results (the catalog's row path)", records, comp_t),
                          ("compiled path -> entity columns (the catalog's bulk path)", records, cols_t),
                          ("DuckDB SQL, same filter and projection over Arrow (no jq semantics)", records, sql_t)]:
        rate = n / secs
        rows.append([what, f"{n:,}", f"{secs:.2f}", f"{rate:,.0f}", f"{rate / base:.1f}x"])
    print_table(f"Mapping throughput, reference mapping ({entities:,} of {jq_records:,} records pass the filter; "
                f"median of {repeats} for the compiled path)",
                ["path", "records", "seconds", "records/s", "vs jq engine"], rows)
    return {"jq_engine": base, "compiled": records / comp_t, "columns": records / cols_t, "port_style": port_records / port_t,
            "duckdb_sql": records / sql_t}


if __name__ == "__main__":
    run()
