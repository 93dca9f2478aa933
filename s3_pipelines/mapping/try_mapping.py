"""`s3-pipelines test-mapping`: Port's "load latest event" + "test mapping". Applies one mapping to
the records of one object — a local file, or the newest object of the mapping's stream in S3 —
read exactly as the stream reads it, validates each entity against its blueprint as a fresh
catalog would, and writes nothing."""

from __future__ import annotations

from pathlib import Path

from ..catalog.entities import entity_config
from ..catalog.validate import identifier_problem, validate_entity
from ..config.models import PipelinesConfig
from ..ingest import read_options
from ..readers import BadRecord, LocalFileSource, read_batches
from .compile import EntityResult, compile_mapping

FIELDS = ("blueprint", "identifier", "title", "icon", "team", "properties", "relations")


def test_mapping(cfg: PipelinesConfig, name: str, *, file: str | None = None, latest: bool = False,
                 object_key: str | None = None, explain: bool = False) -> dict:
    """{"entities": [...], "filtered_out": N, "errors": [...]} for one object's records; with
    `explain`, also "explain": per expression, whether it runs compiled (vectorized over Arrow)
    or in the jq engine, and why not compiled."""
    ec = entity_config(cfg)
    spec = ec.mapping(name)
    stream = cfg.streams[spec.stream]
    mapping = compile_mapping(spec)
    if (file is None) == (not latest):
        raise ValueError("give --file PATH or --latest")
    if file is not None:
        if not Path(file).is_file():
            raise ValueError(f"no such file: {file}")
        source, provenance = LocalFileSource(file, key=object_key), None
        key = object_key or Path(file).name
        read = {"file": str(Path(file).resolve()), "key": key}
    else:
        source, provenance = _latest(cfg, spec.stream)
        key = object_key or provenance.key
        read = {"uri": provenance.uri, "key": key, "etag": provenance.etag,
                "size": provenance.size, "last_modified": str(provenance.last_modified),
                "why": f"the newest object of stream {spec.stream}"}
    bad: list[BadRecord] = []
    out = {"mapping": name, "object": read, "records": 0, "entities": [], "filtered_out": 0, "errors": []}
    bp = ec.blueprint(spec.blueprint)
    schema = None
    for batch in read_batches(source, provenance, read_options(stream), bad.append):
        schema = schema or batch.schema
        out["records"] += batch.num_rows
        mapped = mapping.map_batch(batch, key)
        out["filtered_out"] += mapped.filtered_out
        for r in mapped.results:
            _result(r, bp, key, out)
    out["errors"] += [{"object_key": key, "line": b.line, "identifier": None, "message": f"unreadable record: {b.reason}"}
                      for b in bad]
    out["errors"].sort(key=lambda e: (e["line"] is None, e["line"] or 0))
    if explain:
        out["explain"] = [{"expression": d.where, "jq": d.expression, "engine": d.engine, "why": d.why}
                          for d in mapping.explain(schema)]
        for where, why in mapping.vector.runtime_fallbacks.items():
            for d in out["explain"]:
                if d["expression"] == where and d["engine"] == "compiled":
                    d["engine"], d["why"] = "compiled, jq for some batches", why
    return out


def _result(r: EntityResult, bp, key: str, out: dict) -> None:
    def error(message: str, entity: dict | None = None) -> None:
        e = {"object_key": key, "line": r.line, "identifier": r.identifier, "message": message}
        if entity is not None:
            e["entity"] = entity
        out["errors"].append(e)

    if r.error is not None:
        return error(r.error)
    if r.operation == "delete":
        why = identifier_problem(r.identifier)
        return error(why) if why else out["entities"].append(
            {"blueprint": r.blueprint, "identifier": r.identifier, "operation": "delete"})
    entity = {"blueprint": r.blueprint, "identifier": r.identifier, "title": None, "icon": None, "team": None,
              "properties": {}, "relations": {}}
    entity.update(r.fields)
    entity = {k: entity[k] for k in FIELDS}
    problems = validate_entity(entity, bp, r.blueprint)
    if problems:
        return error("; ".join(problems), entity)
    out["entities"].append(entity)


def _latest(cfg: PipelinesConfig, stream_name: str):
    from ..connections.s3 import S3Client
    from ..ingest import S3ObjectSource
    from ..selection import iter_selected

    stream = cfg.streams[stream_name]
    client = S3Client.from_config(cfg.s3_connection(stream.connection))
    newest = None
    for obj in iter_selected(client, stream.select, missing=[]):
        if newest is None or (obj.last_modified, obj.key) > (newest.last_modified, newest.key):
            newest = obj
    if newest is None:
        raise ValueError(f"stream {stream_name} has no objects yet")
    return S3ObjectSource(client, newest), newest


test_mapping.__test__ = False  # not a pytest test, despite its name


def _without_empty(entity: dict) -> dict:
    """As Port shows an entity: `icon` and `team` only when set."""
    return {k: v for k, v in entity.items() if not (k in ("icon", "team") and v is None)}


def render(result: dict, fmt: str) -> str:
    import json

    shown = {**result, "entities": [_without_empty(e) for e in result["entities"]]}
    if fmt == "json":
        return json.dumps(shown, indent=2, ensure_ascii=False)
    read = result.get("object") or {}
    where = read.get("uri") or read.get("file") or "?"
    lines = [f"read {where}" + (f" ({read['why']}, {read['size']} bytes, modified {read['last_modified']})"
                                if read.get("why") else ""),
             f"mapping {result.get('mapping')}: {result.get('records', 0)} record(s) -> "
             f"{len(result['entities'])} entit{'y' if len(result['entities']) == 1 else 'ies'}, "
             f"{result['filtered_out']} filtered out, {len(result['errors'])} error(s)"]
    for e in shown["entities"]:
        lines.append(f"  {e['blueprint']} {e['identifier']}" + (f"  {e['title']}" if e.get("title") else ""))
        for field in ("icon", "team", "operation"):
            if e.get(field) is not None:
                lines.append(f"    {field}: {json.dumps(e[field], ensure_ascii=False)}")
        for field in ("properties", "relations"):
            for k, v in (e.get(field) or {}).items():
                lines.append(f"    {field}.{k}: {json.dumps(v, ensure_ascii=False, default=str)}")
    for e in result["errors"]:
        lines.append(f"  error: {e['object_key']} line {e['line']}: {e['message']}")
    if "explain" in result:
        lines.append("expressions:")
        width = max((len(d["expression"]) for d in result["explain"]), default=0)
        for d in result["explain"]:
            why = f"  ({d['why']})" if d["why"] else ""
            lines.append(f"  {d['expression'].ljust(width)}  {d['engine']:<8}  {d['jq']}{why}")
    return "\n".join(lines)
