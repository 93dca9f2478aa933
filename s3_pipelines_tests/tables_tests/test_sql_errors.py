"""Issue 14: a table's SQL problems, all of them in one `validate`, each on one line with its YAML
path, the user's own expression and what is wrong in the user's terms; never the SQL we generate
around the expression (plan.py's SELECT, macros.py's bodies, the `s3p_` helpers, `__input`)."""

import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

from s3_pipelines.check import check_config
from s3_pipelines.config import ConfigError, load_config
from s3_pipelines.config.tables import TableConfig
from s3_pipelines.tables.evaluate import Evaluator, MappingError
from s3_pipelines.tables.plan import PlanError, build_plan
from s3_pipelines.tables.table_schema import TableSchemaError

from .conftest import ndjson_gz

# what only our generated SQL or DuckDB's own wording holds
INTERNAL = ("SELECT", "__input", "s3p_", "__s3p", "LINE ", "WHERE", "CAST((", "AS v", "time_bucket", "regexp",
            "~~", "Parser Error", "Binder Error", "Catalog Error", "Conversion Error", "Candidate bindings", "_s3_key")

BROKEN = """
connections:
  lake: {type: s3, bucket: acme-data}
  catalog: {type: duckdb, path: catalog.duckdb}
streams:
  sessions:
    connection: lake
    select: {prefixes: [sessions/]}
tables:
  Koalas:
    stream: sessions
    input_schema: [{name: timestamp, type: string}, {name: city, type: string}, {name: price, type: double}]
    mappings:
      - {column: __time, expression: 'TIME_FLOR("timestamp", ''PT1H'')'}
      - {column: city, expression: '"city"'}
      - {column: revenue, expression: 'SUM("prise")'}
  Wombats:
    stream: sessions
    input_schema: [{name: at, type: string}, {name: city, type: string}]
    mappings:
      - {column: __time, expression: 'TIME_PARSE("at")'}
      - {column: city, expression: '"city" AS town'}
"""


def assert_user_terms(text: str, own: str = "") -> None:
    """None of our SQL in `text`, but for what the user wrote (`own`)."""
    leaked = [t for t in INTERNAL if t in text and t not in own]
    assert not leaked, f"internal SQL {leaked} in: {text}"


def test_validate_reports_every_table_sql_problem_at_once_in_the_users_terms(tmp_path):
    path = tmp_path / "pipelines.yaml"
    path.write_text(textwrap.dedent(BROKEN))
    r = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "validate", "--config", str(path), "--no-env"],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 2, r.stdout + r.stderr  # the CLI's code for a config that is not usable
    out = r.stderr
    assert f"{path}: 3 problems" in out, out
    assert "Traceback" not in out
    lines = out.splitlines()[1:]
    assert lines == [
        "  line 14: tables.Koalas.mappings.0.expression: `TIME_FLOR(\"timestamp\", 'PT1H')`: "
        "unknown function `TIME_FLOR` (did you mean `TIME_FLOOR`?)",
        "  line 16: tables.Koalas.mappings.2.expression: `SUM(\"prise\")`: unknown column `prise` (did you mean `price`?)",
        "  line 22: tables.Wombats.mappings.1.expression: `\"city\" AS town`: syntax error near `AS`",
    ], out
    assert_user_terms(out)


def test_definitions_loading_reports_the_same_problems(tmp_path):
    path = tmp_path / "pipelines.yaml"
    path.write_text(textwrap.dedent(BROKEN))
    with pytest.raises(ConfigError) as e:
        check_config(load_config(path))
    assert len(e.value.problems) == 3
    assert any("unknown column `prise` (did you mean `price`?)" in p for p in e.value.problems)
    assert_user_terms(str(e.value))


INPUTS = [("ts", "string"), ("at", "string"), ("qty", "long"), ("city", "string"), ("price", "double")]


def problem_of(expression: str) -> str:
    table = TableConfig.model_validate({"stream": "s", "mappings": [{"column": "c", "expression": expression}]})
    with pytest.raises(PlanError) as e:
        build_plan("T", table, INPUTS)
    (problem,) = e.value.problems
    assert problem.startswith(f"tables.T.mappings.0.expression: `{expression}`: "), problem
    assert "\n" not in problem
    assert_user_terms(problem.split("`: ", 1)[1], own=expression)
    return problem.split("`: ", 1)[1]


@pytest.mark.parametrize("expression, expected", [
    # errors DuckDB meets inside our macros name the Polaris function and its signature
    ("TIME_FLOOR(TIME_PARSE(ts), 1)", "the arguments do not fit TIME_FLOOR(expr, period[, origin[, timezone]])"),
    ("TIME_FORMAT(TIME_FLOOR(TIME_PARSE(ts), 1))",
     "`TIME_FLOOR(TIME_PARSE(ts), 1)`: the arguments do not fit TIME_FLOOR(expr, period[, origin[, timezone]])"),
    ("TIME_PARSE(ts, 'yyyy', 'UTC', 4)", "the arguments do not fit TIME_PARSE(expr[, pattern[, timezone]])"),
    # literals the macros would reject only once rows arrive
    ("TIME_FLOOR(TIME_PARSE(ts), 'PT1X')", "TIME_FLOOR: 'PT1X' is not an ISO-8601 period"),
    ("TIME_CEIL(TIME_PARSE(ts), 'P1D', 'soon')", "TIME_CEIL: 'soon' is not a timestamp"),
    ("TIME_FORMAT(TIME_PARSE(ts), 'yyyy', 'Mars/Olympus')", "TIME_FORMAT: 'Mars/Olympus' is not a time zone name"),
    # syntax: where the user's text went wrong, not our closing parenthesis
    ("qty +", "syntax error: the expression is incomplete (it ends after `+`)"),
    ("qty)", "syntax error: a `)` closes nothing"),
    ("1; DROP TABLE t", "syntax error near `;`"),
    ("TIME_PARSE(at)", 'syntax error near `)` (`at` is an SQL keyword: write the column as "at")'),
    ("s3p_period('PT1H')", "unknown function `s3p_period`"),
    ("nothing + 1", "unknown column `nothing`; the input columns are `ts`, `at`, `qty`, `city`, `price`"),
    ("city + 1", "operator `+` cannot take (VARCHAR, INTEGER); CAST an operand to the type you mean"),
    ("lenght(city)", "unknown function `lenght` (did you mean `length`?)"),
    ("(SELECT max(qty) FROM __input)", "a subquery is not a mapping"),
    ("MAX(qty) + 1", "an aggregate or window function inside an expression"),
])
def test_each_problem_in_the_users_terms(expression, expected):
    assert problem_of(expression).startswith(expected)


def test_valid_polaris_expressions_still_compile_and_a_trailing_comment_is_fine():
    table = TableConfig.model_validate({"stream": "s", "mappings": [
        {"column": "__time", "expression": "TIME_FLOOR(TIME_PARSE(\"ts\"), 'PT1H') -- hourly"},
        {"column": "day", "expression": "TIME_FORMAT(TIME_CEIL(TIME_PARSE(ts, 'yyyy-MM-dd', 'UTC'), 'P1D', "
                                         "'2000-01-01', 'Europe/Paris'), 'yyyy-MM-dd', 'Australia/Sydney')"},
        {"column": "ms", "expression": "TIMESTAMP_TO_MILLIS(MILLIS_TO_TIMESTAMP(qty))"},
        {"column": "most", "expression": 'MAX("price")'},
    ]})
    plan = build_plan("T", table, INPUTS)
    assert [(c.name, c.kind) for c in plan.columns] == [
        ("__time", "timestamp"), ("day", "string"), ("ms", "long"), ("most", "double"), ("__count", "long")]
    batch = pa.table({"ts": ["2024-05-01T10:20:00Z"], "at": [None], "qty": [1000], "city": ["Sydney"],
                      "price": [2.5], "_s3_key": ["a.json"], "_s3_line": pa.array([1], pa.int64())})
    rows = Evaluator(plan).rollup([batch]).to_pylist()
    assert [(r["ms"], r["most"], r["__count"]) for r in rows] == [(1000, 2.5, 1)]


def test_a_mapping_failing_on_data_names_itself_and_the_object_in_one_line():
    table = TableConfig.model_validate({"stream": "s", "mappings": [
        {"column": "city", "expression": '"city"'}, {"column": "n", "expression": '"city"::BIGINT'}]})
    plan = build_plan("T", table, INPUTS)
    batch = pa.table({"ts": ["x"], "at": [None], "qty": [1], "city": ["Sydney"], "price": [1.0],
                      "_s3_key": ["sessions/a.json"], "_s3_line": pa.array([1], pa.int64())})
    with pytest.raises(MappingError) as e:
        list(Evaluator(plan).rows([batch]))
    assert str(e.value) == ("tables.T: the mapping of column n (`\"city\"::BIGINT`) failed in object sessions/a.json: "
                            "could not convert string 'Sydney' to INT64 when casting from source column city")
    assert isinstance(e.value, TableSchemaError)  # the asset fails the step without retrying the same data


def test_a_load_that_fails_on_data_writes_nothing_and_says_why(duck_lake):
    lake = duck_lake
    lake.put("sessions/a.json", ndjson_gz([{"city": "Sydney", "n": "7"}, {"city": "Perth", "n": "seven"}]))
    lake.configure({"counts": {
        "connection": "lake", "prefixes": ["sessions/"], "formatSettings": {"format": "nd-json"},
        "createTableIfNotExists": True, "inputSchema": [{"name": "city", "type": "string"}, {"name": "n", "type": "string"}],
        "mappings": [{"columnName": "city", "expression": '"city"'}, {"columnName": "n", "expression": 'SUM("n"::BIGINT)'}]}})
    with pytest.raises(MappingError, match=r"^tables.counts: the mapping of column n \(`SUM\(\"n\"::BIGINT\)`\) failed "
                                           r"in object sessions/a.json: could not convert string 'seven' to INT64") as e:
        lake.load("counts")
    assert_user_terms(str(e.value))
    assert lake.rows("counts", "city") == []


def test_run_prints_one_line_for_a_mapping_that_fails_on_data(tmp_path, moto_server, new_bucket, monkeypatch):
    from s3_pipelines_tests.cli_tests.test_run_output import run, setup

    config = setup(tmp_path, moto_server, new_bucket, monkeypatch)
    text = config.read_text()
    config.write_text(text.replace("""{column: city, expression: '"city"'}""",
                                   """{column: city, expression: '"city"::BIGINT'}""", 1))
    r = run(config, tmp_path, "--select", "Koalas-2024")
    assert r.returncode == 1, r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith("error: tables/Koalas [") and "the mapping of column city (`\"city\"::BIGINT`) failed " \
        "in object sessions/" in errors[0] and "could not convert string 'Sydney' to INT64" in errors[0], errors
    assert_user_terms(r.stdout + r.stderr)
