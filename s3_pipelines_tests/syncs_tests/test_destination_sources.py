"""Destinations fed by a mapping (its entities) and by a table (its rows), run by the stream's job
after the entities and the table."""

from __future__ import annotations

import dagster as dg

from s3_pipelines.sinks.s3 import get_format

from .conftest import TODAY

CONFIG = """
streams:
  people:
    connection: lake
    select: {prefixes: ["in/people/"]}
    format: jsonl
    schema: [{name: id, type: string}, {name: name, type: string}, {name: age, type: long}]
blueprints:
  person: {title: Person, properties: {name: {type: string}, age: {type: number}}}
mappings:
  - name: persons
    stream: people
    target: catalog
    blueprint: person
    filter: .body.age != null
    entity: {identifier: .body.id, title: .body.name, properties: {name: .body.name, age: .body.age}}
tables:
  ages:
    stream: people
    target: catalog
    create_table_if_not_exists: true
    mappings:
      - {column: id, expression: '"id"'}
      - {column: age_next_year, expression: '"age" + 1'}
destinations:
  entities_out: {connection: lake, prefix: out/entities/, format: json, batch_window: 1d, from: {mapping: persons}}
  rows_out: {connection: lake, prefix: out/rows/, format: parquet, batch_window: 1d, from: {table: ages}}
"""


def test_entities_and_table_rows_as_destinations(setup):
    setup.write(CONFIG)
    setup.put("in/people/a.jsonl", b'{"id":"p1","name":"Ann","age":30}\n{"id":"p2","name":"Bob"}\n'
                                   b'{"id":"p3","name":"Cy","age":41}\n')
    defs = setup.defs()
    job = defs.resolve_job_def("people_job")
    keys = job.asset_layer.executable_asset_keys
    assert {dg.AssetKey(["destinations", "entities_out"]), dg.AssetKey(["destinations", "rows_out"])} <= keys
    setup.run("people_job", TODAY, defs=defs)
    (ents_key,) = setup.keys("out/entities/")
    entities = get_format("json").decode(setup.get(ents_key))
    assert [(e["identifier"], e["properties"]) for e in entities] == [("p1", {"name": "Ann", "age": 30}),
                                                                     ("p3", {"name": "Cy", "age": 41})]
    assert all(e["blueprint"] == "person" and e["operation"] == "create" for e in entities)
    (rows_key,) = setup.keys("out/rows/")
    rows = get_format("parquet").decode(setup.get(rows_key))
    assert [(r["id"], r["age_next_year"]) for r in rows] == [("p1", 31), ("p2", None), ("p3", 42)]
