"""Rollups equal a pandas group-by of the same records, computed independently here: within one
evaluation (any batch split), and merged in the target over several objects and loads."""

import math
import random

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3_pipelines.config.tables import TableConfig
from s3_pipelines.tables.evaluate import Evaluator
from s3_pipelines.tables.plan import build_plan

from .conftest import ndjson_gz

INPUT = [{"name": "timestamp", "type": "string"}, {"name": "city", "type": "string"},
         {"name": "session_length", "type": "long"}, {"name": "score", "type": "double"}]
MAPPINGS = [
    {"column": "__time", "expression": "TIME_FLOOR(TIME_PARSE(\"timestamp\"), 'PT1H')"},
    {"column": "city", "expression": '"city"'},
    {"column": "max_length", "expression": 'MAX("session_length")'},
    {"column": "min_length", "expression": 'MIN("session_length")'},
    {"column": "total_score", "expression": 'SUM("score")'},
    {"column": "lengths", "expression": 'COUNT("session_length")'},
]
CITIES = ["Sydney", "Perth", "Hobart", None]


def records(rng: random.Random, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        ts = f"2024-05-0{rng.randint(1, 2)}T{rng.randint(0, 3):02d}:{rng.randint(0, 59):02d}:00Z"
        out.append({
            "timestamp": ts if rng.random() > 0.03 else "garbage",
            "city": rng.choice(CITIES),
            "session_length": rng.randint(-50, 10_000) if rng.random() > 0.1 else None,
            "score": round(rng.uniform(0, 100), 3) if rng.random() > 0.1 else None,
        })
    return out


def pandas_rollup(recs: list[dict]) -> list[tuple]:
    """The expected rollup, by pandas alone: rows whose time does not parse are dropped."""
    df = pd.DataFrame(recs, columns=["timestamp", "city", "session_length", "score"])
    df["__time"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="ISO8601").dt.floor("h")
    df = df[df["__time"].notna()]
    df["session_length"] = df["session_length"].astype("Float64")
    df["score"] = df["score"].astype("Float64")
    df["city"] = df["city"].astype(object)
    g = df.groupby(["__time", "city"], dropna=False)
    agg = g.agg(max_length=("session_length", "max"), min_length=("session_length", "min"),
                total_score=("score", lambda s: s.sum(min_count=1)), lengths=("session_length", "count"),
                __count=("timestamp", "size")).reset_index()
    return sorted((_key(r) for r in agg.itertuples(index=False)), key=_order)


def _none(v):
    return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v


def _int(v):
    return None if _none(v) is None else int(v)


def _key(r) -> tuple:
    t, city, mx, mn, total, lengths, count = r
    return (pd.Timestamp(t).to_pydatetime(), _none(city), _int(mx), _int(mn), _none(total), int(lengths), int(count))


def _order(row: tuple):
    return (row[0], row[1] or "")


def table_rows(table: pa.Table) -> list[tuple]:
    cols = ["__time", "city", "max_length", "min_length", "total_score", "lengths", "__count"]
    return sorted((tuple(r[c] for c in cols) for r in table.to_pylist()), key=_order)


def assert_same(got: list[tuple], want: list[tuple]):
    assert [g[:4] + g[5:] for g in got] == [w[:4] + w[5:] for w in want]
    for g, w in zip(got, want):  # sums of doubles depend on the order of addition
        assert (g[4] is None) == (w[4] is None) and (g[4] is None or g[4] == pytest.approx(w[4], rel=1e-9))


def plan():
    table = TableConfig.model_validate({"stream": "s", "input_schema": INPUT, "mappings": MAPPINGS})
    return build_plan("sessions", table, [(c["name"], c["type"]) for c in INPUT])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), n=st.integers(0, 400), batch=st.integers(1, 97))
def test_evaluated_rollup_equals_pandas_whatever_the_batches(seed, n, batch):
    recs = records(random.Random(seed), n)
    arrow = pa.Table.from_pylist(recs, schema=pa.schema([("timestamp", pa.string()), ("city", pa.string()),
                                                         ("session_length", pa.int64()), ("score", pa.float64())]))
    ev = Evaluator(plan())
    got = ev.rollup(arrow.to_batches(max_chunksize=batch))
    assert_same(table_rows(got), pandas_rollup(recs))
    assert ev.rows_skipped == sum(r["timestamp"] == "garbage" for r in recs)


def test_partials_are_combined_when_they_pile_up(monkeypatch):
    import s3_pipelines.tables.evaluate as evaluate

    monkeypatch.setattr(evaluate, "COMBINE_AT_ROWS", 10)
    recs = records(random.Random(7), 2000)
    ev = Evaluator(plan())
    got = ev.rollup(pa.Table.from_pylist(recs).to_batches(max_chunksize=50))
    assert_same(table_rows(got), pandas_rollup(recs))


@pytest.mark.parametrize("seed", [1, 2])
def test_rollup_merged_in_the_target_over_objects_and_loads(lake, seed):
    """Groups recur across objects and loads: the target's rows are merged, never duplicated."""
    rng = random.Random(seed)
    batches = [records(rng, rng.randint(100, 600)) for _ in range(5)]
    lake.configure({"sessions": {"connection": "lake", "prefixes": ["sessions/"],
                                 "format_settings": {"format": "nd-json"}, "input_schema": INPUT,
                                 "mappings": MAPPINGS, "create_table_if_not_exists": True}})
    seen: list[dict] = []
    for i, group in enumerate([[0], [1, 2], [3, 4]]):  # three loads, one then two then two objects
        for j in group:
            lake.put(f"sessions/part-{j}.ndjson.gz", ndjson_gz(batches[j]))
            seen += batches[j]
        report = lake.load("sessions")
        assert report.objects_applied == len(group)
        assert_same(table_rows(lake.arrow("sessions")), pandas_rollup(seen))
