"""s3_pipelines.frames: a loaded pipeline's entities, table and staged records as pandas DataFrames,
read through the engine's functions, equal to what those functions return."""

import pandas as pd
import pytest

from s3_pipelines import frames
from s3_pipelines.catalog.export import export_entities
from s3_pipelines.targets import open_target

from .conftest import BLUEPRINTS_AND_MAPPINGS, airbyte_key, user, write_config

TABLE = """
tables:
  tiers:
    stream: users
    target: catalog
    create_table_if_not_exists: true
    input_schema: [{name: id, type: string}, {name: tier, type: string}]
    mappings:
      - {column: tier, expression: '"tier"'}
      - {column: users, expression: 'COUNT(*)'}
"""


def test_frames_of_a_loaded_pipeline(catalog_pipeline):
    p = catalog_pipeline
    write_config(p, "{type: duckdb, path: catalog.duckdb}", BLUEPRINTS_AND_MAPPINGS + TABLE)
    assert frames.entities(p.config, "user").empty and frames.table(p.config, "tiers").empty
    assert frames.records(p.config, "users").empty
    assert not (p.root / "catalog.duckdb").exists()  # reading created nothing
    part = p.put(airbyte_key("users", 1_763_629_200), [user(i) for i in range(6)])
    p.run("users", part)

    users = frames.entities(p.config, "user")
    assert list(users.columns) == ["blueprint", "identifier", "title", "icon", "team", "properties", "relations"]
    assert users.to_dict("records") == export_entities(open_target(p.load(), "catalog"), "user")
    assert users["identifier"].tolist() == [f"U{i:04d}" for i in range(6)]
    assert users.loc[0, "properties"]["tier"] == "free" and users.loc[0, "relations"] == {"team": "T0"}

    tiers = frames.table(p.load(), "tiers").sort_values("tier").reset_index(drop=True)
    assert tiers[["tier", "users"]].to_dict("records") == [{"tier": "free", "users": 3}, {"tier": "pro", "users": 3}]

    records = frames.records(p.config, "users", partition=part)
    assert isinstance(records, pd.DataFrame) and records["id"].tolist() == [f"U{i:04d}" for i in range(6)]
    assert records["_s3_row"].tolist() == list(range(1, 7)) and "_s3_record" not in records.columns
    assert "_s3_record" in frames.records(p.config, "users", record_text=True).columns
    assert frames.records(p.config, "users", partition="2001-01-01").empty


def test_unknown_names_are_clear(catalog_pipeline):
    write_config(catalog_pipeline, "{type: duckdb, path: catalog.duckdb}", BLUEPRINTS_AND_MAPPINGS + TABLE)
    with pytest.raises(ValueError, match="no table named 'nope'"):
        frames.table(catalog_pipeline.config, "nope")
    with pytest.raises(ValueError, match="no stream named 'nope'"):
        frames.records(catalog_pipeline.config, "nope")
