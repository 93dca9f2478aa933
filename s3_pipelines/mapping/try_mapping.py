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
                 object_key: str | None = None, explain: bool = False, on_batch=None) -> dict:
    """{"entities": [...], "filtered_out": N, "errors": [...]} for one object's records; with
    `explain`, also "explain": per expression, whether it runs compiled (vectorized over Arrow)
    or in the jq engine, and why not compiled. `on_batch(records, entities)`: the counts so far, after
    each batch (a progress bar)."""
    ec = entity_config(cfg)
    spec = ec.mapping(name)
    stream = cfg.streams[spec.stream]
    mapping = compile_mapping(spec)
    source, provenance, key, read = _source(cfg, spec, file, latest, object_key)
    bad: list[BadRecord] = []
    out = {"mapping": name, "object": read, "records": 0, "entities": [], "filtered_out": 0, "errors": []}
    bp = ec.blueprint(spec.blueprint)
    schema = None
    batches = read_batches(source, provenance, read_options(stream), bad.append)
    for batch in _reporting(batches, on_batch and (lambda: on_batch(out["records"], len(out["entities"])))):
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


def _source(cfg: PipelinesConfig, spec, file: str | None, latest: bool, object_key: str | None):
    """(source, provenance, key, what was read) of the object a test reads."""
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
    return source, provenance, key, read


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


def _reporting(batches, report):
    """`batches`, calling `report()` after each one is dealt with (per batch: nothing per record)."""
    for batch in batches:
        yield batch
        if report is not None:
            report()


# --- streamed output (--format json / jsonl): entities written as they are made -----------------------------


def write_test_mapping(cfg: PipelinesConfig, name: str, out, fmt: str = "json", *, err=None,
                       file: str | None = None, latest: bool = False, object_key: str | None = None,
                       explain: bool = False, on_batch=None) -> dict:
    """What `test_mapping` finds, written to the binary stream `out` as it is produced: `json`,
    an object whose `entities` array is written batch by batch (then records, filtered_out,
    errors and explain); `jsonl`, one entity per line (errors, one per line, and a summary go to
    `err`). A batch whose every expression compiled and whose values pass the blueprint column-wise
    (the catalog's bulk-path checks) becomes JSON text in Arrow without a Python object per entity;
    any other batch takes the row path and orjson. Returns the counts and the errors. `on_batch(records,
    entities)`: the counts so far, after each batch."""
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..catalog.bulk import column_plan

    if fmt not in ("json", "jsonl"):
        raise ValueError(f"format {fmt!r}: json or jsonl")
    ec = entity_config(cfg)
    spec = ec.mapping(name)
    stream = cfg.streams[spec.stream]
    mapping = compile_mapping(spec)
    source, provenance, key, read = _source(cfg, spec, file, latest, object_key)
    bp = ec.blueprint(spec.blueprint)
    bad: list[BadRecord] = []
    summary = {"records": 0, "entities": 0, "filtered_out": 0, "errors": []}
    sep = b",\n" if fmt == "json" else b"\n"
    if fmt == "json":
        out.write(b'{"mapping": ' + orjson.dumps(name) + b', "object": ' + orjson.dumps(read) + b', "entities": [')
    written = False

    def emit(texts: pa.Array) -> None:
        nonlocal written
        if len(texts) == 0:
            return
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts), sep.decode())
        head = (sep if written else b"\n") if fmt == "json" else b""
        out.write(head)
        out.write(joined[0].as_buffer())
        if fmt == "jsonl":
            out.write(b"\n")
        written = True
        summary["entities"] += len(texts)

    schema = None
    batches = read_batches(source, provenance, read_options(stream), bad.append)
    for batch in _reporting(batches, on_batch and (lambda: on_batch(summary["records"], summary["entities"]))):
        schema = schema or batch.schema
        summary["records"] += batch.num_rows
        mapped = mapping.map_batch(batch, key, columnar=True)
        summary["filtered_out"] += mapped.filtered_out
        cols = mapped.columns
        if cols is not None and spec.operation == "create":
            planned = column_plan(spec, bp, cols) if len(cols) else None
            if len(cols) == 0:
                continue
            if planned is not None:
                emit(_entity_texts(spec.blueprint, cols, *planned))
                continue
        found: dict = {"entities": [], "errors": summary["errors"]}
        for r in mapped.all_results():
            _result(r, bp, key, found)
        if found["entities"]:
            emit(pa.array([_dumps(_without_empty(e)) for e in found["entities"]], pa.string()))
    errors = summary["errors"]
    errors += [{"object_key": key, "line": b.line, "identifier": None, "message": f"unreadable record: {b.reason}"}
               for b in bad]
    errors.sort(key=lambda e: (e["line"] is None, e["line"] or 0))
    explained = None
    if explain:
        explained = [{"expression": d.where, "jq": d.expression, "engine": d.engine, "why": d.why}
                     for d in mapping.explain(schema)]
        for where, why in mapping.vector.runtime_fallbacks.items():
            for d in explained:
                if d["expression"] == where and d["engine"] == "compiled":
                    d["engine"], d["why"] = "compiled, jq for some batches", why
    if fmt == "json":
        out.write(b"\n], " if written else b"], ")
        tail = {"records": summary["records"], "filtered_out": summary["filtered_out"], "errors": errors}
        if explained is not None:
            tail["explain"] = explained
        out.write(_dumps(tail).encode()[1:-1] + b"}\n")
    elif err is not None:
        for e in errors:
            err.write(_dumps({"error": e}).encode() + b"\n")
        done = {"mapping": name, "object": read, "records": summary["records"], "entities": summary["entities"],
                "filtered_out": summary["filtered_out"], "errors": len(errors)}
        if explained is not None:
            done["explain"] = explained
        err.write(_dumps({"summary": done}).encode() + b"\n")
    return summary


def _dumps(v) -> str:
    import json

    import orjson

    try:
        return orjson.dumps(v).decode()
    except TypeError:  # an integer beyond 64 bits, a value orjson does not know
        return json.dumps(v, ensure_ascii=False, default=str, separators=(",", ":"))


def _entity_texts(blueprint: str, cols, by_path: dict, props: list, relations: list):
    """Each entity of `cols` as the JSON text `_without_empty` of its row-path dict would be
    (fields in FIELDS order, icon and team only when set), built column-wise."""
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..catalog.bulk import _json_objects, _json_values

    n = len(cols)

    def const(text: str):
        return pa.repeat(pa.scalar(text, pa.string()), n)

    def values(i: int):
        return _json_values(cols.arrays[i], lambda: cols.value(i))

    parts = [const('{"blueprint":' + orjson.dumps(blueprint).decode() + ',"identifier":'), values(0),
             const(',"title":')]
    i = by_path.get(("title",))
    parts.append(const("null") if i is None else values(i))
    for field in ("icon", "team"):
        i = by_path.get((field,))
        if i is not None:
            piece = pc.binary_join_element_wise(const(f',"{field}":'), values(i), "")
            parts.append(pc.if_else(pc.is_valid(cols.arrays[i]), piece, const("")))
    parts += [const(',"properties":'), _json_objects(cols, props, n, sort=False),
              const(',"relations":'), _json_objects(cols, relations, n, sort=False), const("}")]
    return pc.binary_join_element_wise(*parts, "")


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
