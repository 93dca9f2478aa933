"""`s3-pipelines infer --stream NAME`: read the first objects of a stream (up to a number of
records), and print in YAML its inferred schema and a starter blueprint and mapping, ready to
paste into pipelines.yaml and then edit (or, `--format json`, the same as one JSON document)."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import yaml

from .catalog.formats import CHECKS
from .config.models import PipelinesConfig
from .mapping.records import PROVENANCE, batch_records
from .readers import read_batches
from .targets import sql_connections

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID_NAMES = ("id", "identifier", "uuid", "key", "_id")
_TITLE_NAMES = ("name", "title", "display_name", "displayName", "label", "name_normalized", "real_name", "login")
_FORMATS = ("date-time", "email", "url")


def column_type(t: pa.DataType) -> str:
    """The stream `schema` type of an Arrow type (nested values are kept as JSON)."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "long"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "double"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return "string"
    return "json"


def property_spec(t: pa.DataType, values: list) -> dict:
    if pa.types.is_boolean(t):
        return {"type": "boolean"}
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return {"type": "number"}
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return {"type": "string", "format": "date-time"} if pa.types.is_timestamp(t) else {"type": "string"}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"type": "array"}
    if pa.types.is_struct(t) or pa.types.is_map(t):
        return {"type": "object"}
    spec = {"type": "string"}
    present = [v for v in values if isinstance(v, str)]
    if present:
        for fmt in _FORMATS:
            if all(CHECKS[fmt][0](v) for v in present):
                spec["format"] = fmt
                break
    return spec


def jq_path(name: str) -> str:
    return f".body.{name}" if _NAME.match(name) else f'.body["{name}"]'


def _sample(cfg: PipelinesConfig, stream_name: str, max_records: int, max_objects: int, bad: list, on_batch=None):
    from .connections.s3 import S3Client
    from .ingest import S3ObjectSource, read_options
    from .selection import iter_selected

    stream = cfg.streams[stream_name]
    client = S3Client.from_config(cfg.s3_connection(stream.connection))
    opts = read_options(stream)
    batches, records, objects = [], 0, 0
    for obj in iter_selected(client, stream.select, missing=[]):
        if objects >= max_objects or records >= max_records:
            break
        objects += 1
        for batch in read_batches(S3ObjectSource(client, obj), obj, opts, lambda b, key=obj.key: bad.append((key, b))):
            batch = batch.slice(0, max_records - records)
            batches.append(pa.Table.from_batches([batch]))
            records += batch.num_rows
            if on_batch is not None:
                on_batch(records, objects)
            if records >= max_records:
                break
    return batches, records, objects


def infer_stream(cfg: PipelinesConfig, stream_name: str, max_records: int = 1000, max_objects: int = 5,
                 fmt: str = "yaml", on_batch=None) -> str:
    """The starter as YAML with a commented head, or (`fmt="json"`) one document:
    {stream, records, objects, bad_records: [{object_key, line, reason}], streams, blueprints, mappings}.
    `on_batch(records, objects)`: the counts so far, after each batch read."""
    found = infer_doc(cfg, stream_name, max_records, max_objects, on_batch)
    if fmt == "json":
        return json.dumps(found, indent=2, ensure_ascii=False, default=str) + "\n"
    stream_name, records, objects, bad = found["stream"], found["records"], found["objects"], found["bad_records"]
    doc = {k: found[k] for k in ("streams", "blueprints", "mappings")}
    head = (f"# s3-pipelines infer --stream {stream_name}: {records} record(s) from {objects} object(s)\n"
            f"# streams.{stream_name}.schema: the inferred column types (add it to the stream to fix them);\n"
            f"# blueprints and mappings: a starting point; check the identifier, title and property types.\n")
    if bad:
        head += f"# {len(bad)} bad record(s) skipped (not in the sample):\n" + "".join(
            f"#   {b['object_key']} line {b['line']}: {b['reason']}\n" for b in bad[:10])
        if len(bad) > 10:
            head += f"#   ... and {len(bad) - 10} more\n"
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def infer_doc(cfg: PipelinesConfig, stream_name: str, max_records: int = 1000, max_objects: int = 5,
              on_batch=None) -> dict:
    if stream_name not in cfg.streams:
        raise ValueError(f"no stream named {stream_name!r} (streams: {', '.join(cfg.streams) or 'none'})")
    bad: list = []  # (object key, BadRecord): skipped, and said so in the output
    tables, records, objects = _sample(cfg, stream_name, max_records, max_objects, bad, on_batch)
    if not tables:
        raise ValueError(f"stream {stream_name} has no records to sample (objects read: {objects})")
    table = pa.concat_tables(tables, promote_options="permissive")
    columns = [f for f in table.schema if f.name not in PROVENANCE]
    rows, _ = batch_records(table)
    # the envelope's own `_airbyte_*` fields are metadata the reader keeps, not the stream's schema
    data = [f for f in columns if not f.name.startswith("_airbyte_")]
    schema = [{"name": f.name, "type": column_type(f.type)} for f in data]
    names = [f.name for f in data]
    ident = next((n for n in _ID_NAMES if n in names), names[0] if names else None)
    title = next((n for n in _TITLE_NAMES if n in names), None)
    bp_name = re.sub(r"\W", "_", stream_name)
    props, prop_map = {}, {}
    for f in data:
        if f.name == ident:
            continue
        key = re.sub(r"[^A-Za-z0-9_@=-]", "_", f.name)
        props[key] = property_spec(f.type, [r.get(f.name) for r in rows])
        prop_map[key] = jq_path(f.name)
    entity = {"identifier": f"{jq_path(ident)} | tostring" if ident else ".body | tostring"}
    if title:
        entity["title"] = jq_path(title)
    entity["properties"] = prop_map
    catalogs = sql_connections(cfg.connections)
    mapping = {"name": bp_name, "stream": stream_name, "target": catalogs[0] if catalogs else "catalog",
               "blueprint": bp_name, "entity": entity}
    return {
        "stream": stream_name, "records": records, "objects": objects,
        "bad_records": [{"object_key": key, "line": b.line, "reason": b.reason} for key, b in bad],
        "streams": {stream_name: {"schema": schema}},
        "blueprints": {bp_name: {"title": stream_name.replace("_", " ").capitalize(), "properties": props}},
        "mappings": [mapping],
    }
