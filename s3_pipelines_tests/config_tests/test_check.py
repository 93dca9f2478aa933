"""The checking pass after parsing: the config package is data (a leaf), parsing checks shapes, and
one pass reports every reference, jq, SQL and Port-file problem at once, each at its line."""

import ast
import textwrap
from pathlib import Path

import pytest

from s3_pipelines.check import check_config, json_schema, load_checked
from s3_pipelines.config import CONNECTION_TYPES, ConfigError, load_config

GOOD = """
connections:
  lake: {type: s3, bucket: acme-data, prefix: data}
  catalog: {type: duckdb, path: state/catalog.duckdb}
streams:
  users:
    connection: lake
    select: {prefixes: [users/]}
    schema: [{name: id, type: string}, {name: n, type: long}]
blueprints:
  user: {properties: {n: {type: number}}}
mappings:
  - stream: users
    blueprint: user
    entity: {identifier: .body.id, properties: {n: .body.n}}
tables:
  counts:
    stream: users
    mappings:
      - {column: id, expression: '"id"'}
      - {column: total, expression: 'SUM("n")'}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "pipelines.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def lines_of(text: str) -> list[str]:
    return textwrap.dedent(text).splitlines()


def test_config_package_imports_nothing_else_of_the_package():
    root = Path(__file__).resolve().parents[2] / "s3_pipelines" / "config"
    for f in root.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{f.name} imports {'.' * node.level}{node.module}"
                assert not (node.module or "").startswith("s3_pipelines"), f.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("s3_pipelines") for a in node.names), f.name


def test_good_file_parses_and_checks(tmp_path):
    cfg = load_checked(write(tmp_path, GOOD))
    assert set(cfg.streams) == {"users"} and set(cfg.tables) == {"counts"}
    check_config(cfg)  # what build_definitions runs


def test_every_semantic_problem_at_once_with_its_line(tmp_path):
    text = (GOOD.replace("connection: lake", "connection: nowhere")
            .replace("identifier: .body.id,", "identifier: .body.id |,")
            .replace("'SUM(\"n\")'", "'SUM(\"missing\")'")
            .replace("blueprint: user", "blueprint: nobody"))
    path = write(tmp_path, text)
    cfg = load_config(path)  # parsing alone checks the shape only
    assert cfg.streams["users"].connection == "nowhere"
    with pytest.raises(ConfigError) as e:
        load_checked(path)
    problems = e.value.problems
    src = lines_of(text)

    def at(fragment: str) -> str:
        return f"line {next(i for i, ln in enumerate(src, 1) if fragment in ln)}: "

    assert at("connection: nowhere") + "streams.users.connection: no connection named 'nowhere'" in problems
    assert at("blueprint: nobody") + "mappings.0.blueprint: no blueprint named 'nobody'" in problems
    assert any(p.startswith(at("identifier: .body.id |") + "mappings.0.entity.identifier: jq:") for p in problems)
    assert any(p.startswith(at("SUM(\"missing\")") + "tables.counts.mappings.1") and "missing" in p for p in problems)
    with pytest.raises(ConfigError) as again:
        check_config(cfg)
    assert again.value.problems == problems


def test_field_errors_and_reference_problems_together(tmp_path):
    text = GOOD.replace("connection: lake", "connection: nowhere").replace("type: long", "type: int64")
    with pytest.raises(ConfigError) as e:
        load_checked(write(tmp_path, text))
    text = e.value.render()
    assert "streams.users.schema.1.type:" in text
    assert "streams.users.connection: no connection named 'nowhere'" in text


def test_tables_refer_to_streams_and_sql_targets(tmp_path):
    text = GOOD.replace("    stream: users\n    mappings:", "    stream: nope\n    target: lake\n    mappings:")
    with pytest.raises(ConfigError) as e:
        load_checked(write(tmp_path, text))
    text = e.value.render()
    assert "tables.counts.stream: no stream named 'nope'" in text
    assert "tables.counts.target: 'lake' is a s3 connection, not duckdb or postgres" in text


def test_connection_types_come_from_the_registry(tmp_path):
    schema = json_schema()
    kinds = {d["properties"]["type"]["const"] for name, d in schema["$defs"].items() if name.endswith("ConnectionConfig")}
    assert kinds == set(CONNECTION_TYPES) == {"s3", "duckdb", "postgres"}
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, GOOD.replace("type: duckdb", "type: oracle")))
    assert "connections.catalog: unknown type 'oracle'; expected s3, duckdb or postgres" in e.value.render()
