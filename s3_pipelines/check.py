"""The one checking pass over a parsed `pipelines.yaml`: what its models cannot see one section at a
time. Every problem is a line `yaml.path: what is wrong` (located to its line in the file), and all
of them are reported at once:

- names, and references between sections (streams and tables to connections, tables to streams and
  targets, staging to its connection), read from the file's data, so they are reported together with
  the field errors of a file that did not parse;
- blueprints and mappings resolved: Port's files read, jq compiled (`catalog.entities`);
- every table's mappings compiled to its SQL plan in DuckDB (`tables.plan`).

`s3-pipelines validate` runs it through `load_checked`; Dagster definitions through `check_config`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .catalog.entities import resolve_entities
from .check_events import event_problems
from .check_sinks import sink_problems
from .config.connections import S3ConnectionConfig
from .config import names
from .config.loader import ConfigError, locate, parse, read_file
from .config.models import PipelinesConfig
from .config.models import json_schema as shape_schema
from .config.tables import source_stream_name
from .readers.registry import compression_names, format_names
from .datasources import config_problems as datasource_problems, resolve_streams
from .tables.macros import connect
from .tables.plan import PlanError, build_plan, input_columns
from .targets import TARGETS, sql_connections, target_types

NAME_RE, NAME_RULE = names.NAME_RE, names.NAME_RULE  # hyphens and capitals too: config/names.py


def load_checked(path: str | os.PathLike | None = None, check_env: bool = False) -> PipelinesConfig:
    """The file parsed and checked; ConfigError with every problem of both when it is not usable.
    `check_env`: also every `{env: NAME}` reference must name a set variable."""
    p, data, lines = read_file(path)
    cfg, problems = parse(p, data, lines)
    semantic = check(data, cfg) + (env_problems(data) if check_env else [])
    found = problems + [q for q in locate(semantic, lines) if q not in problems]
    if found:
        raise ConfigError(p, found)
    return cfg


def check_config(cfg: PipelinesConfig) -> None:
    """Check a parsed config (its file, when it has one, gives the line numbers); ConfigError if any."""
    path = cfg.source_path
    lines = read_file(path)[2] if path is not None and Path(path).is_file() else {}
    data = cfg.model_dump(by_alias=True, mode="json")
    for name in cfg.implicit_stream_names():  # checked as the tables that declare them
        data["streams"].pop(name, None)
    problems = check(data, cfg)
    if problems:
        raise ConfigError(path or "pipelines.yaml", locate(problems, lines))


def check(data: dict, cfg: PipelinesConfig | None) -> list[str]:
    """Problems of the file's `data`; those that need the models too when it parsed (`cfg`)."""
    problems = reference_problems(data) + sink_problems(data)
    problems += datasource_problems(data)
    if cfg is not None:
        problems += resolve_streams(cfg)  # streams selecting a data source get its prefix from the registry
        problems += resolve_entities(cfg, cfg.base_dir())[1]
        problems += plan_problems(cfg)
    return problems


def env_problems(data, where: str = "") -> list[str]:
    """`yaml.path: environment variable NAME is not set` for each `{env: NAME}` naming an unset one."""
    if isinstance(data, dict):
        if set(data) == {"env"} and isinstance(data["env"], str):
            return [] if data["env"] in os.environ else [
                f"{where}: environment variable {data['env']} is not set (set it, or pass --no-env to skip this check)"]
        return [q for k, v in data.items() for q in env_problems(v, f"{where}.{k}".lstrip("."))]
    if isinstance(data, list):
        return [q for i, v in enumerate(data) for q in env_problems(v, f"{where}.{i}".lstrip("."))]
    return []


# --- names and references --------------------------------------------------------------------


def _section(data: dict, name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def reference_problems(data: dict) -> list[str]:
    conns, streams = _section(data, "connections"), _section(data, "streams")
    problems = [f"{section}.{name}: {NAME_RULE}" for section in ("connections", "streams")
                for name in _section(data, section) if not NAME_RE.match(str(name))]
    problems += [f"{section}.{b}: {a!r} and {b!r} are both {names.dagster_name(b)!r} in Dagster (config/names.py): rename one"
                 for section in ("connections", "streams", "tables", "destinations", "syncs")
                 for a, b in names.clashes(_section(data, section))]
    for name, stream in streams.items():
        if isinstance(stream, dict) and "connection" in stream:
            uris = (stream.get("select") or {}).get("uris") if isinstance(stream.get("select"), dict) else None
            problems += _s3_problems(f"streams.{name}", "connection", stream["connection"], conns, uris,
                                     f"streams.{name}.select.uris")
    staging = _section(_section(data, "state"), "staging")
    if staging.get("connection"):
        conn = conns.get(staging["connection"])
        if not isinstance(conn, dict) or conn.get("type") != "s3":
            problems.append(f"state.staging.connection: no s3 connection named {staging['connection']!r}")
    database = _section(data, "state").get("database")
    if isinstance(database, str) and "://" not in database:
        conn = conns.get(database)
        if not isinstance(conn, dict) or conn.get("type") != "postgres":
            problems.append(f"state.database: no postgres connection named {database!r}")
    return (problems + _table_problems(_section(data, "tables"), conns, streams) + format_problems(data)
            + event_problems(data))


def _s3_problems(where: str, field: str, conn_name, conns: dict, uris, uris_where: str) -> list[str]:
    """A reference to an S3 connection, and `s3://` uris that must lie inside it."""
    conn = conns.get(conn_name)
    if not isinstance(conn, dict):
        return [f"{where}.{field}: no connection named {conn_name!r}"]
    if conn.get("type") != "s3":
        return [f"{where}.{field}: {conn_name!r} is a {conn.get('type')} connection, not s3"]
    prefix = S3ConnectionConfig._prefix(str(conn.get("prefix") or ""))
    out = []
    for uri in uris or []:
        bucket, _, key = str(uri)[5:].partition("/")
        if bucket != conn.get("bucket"):
            out.append(f"{uris_where}: {uri} is in bucket {bucket!r}, but connection {conn_name!r} is bucket "
                       f"{conn.get('bucket')!r}")
        elif not key.startswith(prefix):
            out.append(f"{uris_where}: {uri} is outside the connection prefix {prefix!r}")
    return out


def _table_problems(tables: dict, conns: dict, streams: dict) -> list[str]:
    problems: list[str] = []
    for name, t in tables.items():
        where = f"tables.{name}"
        if not NAME_RE.match(str(name)):
            problems.append(f"{where}: {NAME_RULE}")
            continue
        if not isinstance(t, dict):
            continue
        problems += _target_problems(where, t.get("target"), conns)
        if t.get("stream") is not None:
            stream = streams.get(t["stream"])
            if not isinstance(stream, dict):
                problems.append(f"{where}.stream: no stream named {t['stream']!r}")
            elif not (t.get("input_schema") or t.get("inputSchema") or stream.get("schema")):
                problems.append(f"{where}.input_schema: required, since stream {t['stream']!r} has no schema")
        else:
            conn_name = t.get("connection", t.get("connectionName"))
            if conn_name is not None:
                problems += _s3_problems(where, "connection", conn_name, conns, t.get("uris"), f"{where}.uris")
    return problems


def _target_problems(where: str, target, conns: dict) -> list[str]:
    if target is None:
        sql = sql_connections(conns)
        if len(sql) != 1:
            return [f"{where}.target: required when there is not exactly one {target_types()} connection "
                    f"(found: {', '.join(sql) or 'none'})"]
        return []
    conn = conns.get(target)
    if not isinstance(conn, dict):
        return [f"{where}.target: no connection named {target!r}"]
    if conn.get("type") not in TARGETS:
        return [f"{where}.target: {target!r} is a {conn.get('type')} connection, not {' or '.join(TARGETS)}"]
    return []


# --- SQL plans -------------------------------------------------------------------------------


def plan_problems(cfg: PipelinesConfig) -> list[str]:
    """Every table's mappings compiled against its input schema, so a typo fails `validate`, not a run."""
    tables = [(name, t, cfg.streams.get(source_stream_name(name, t))) for name, t in cfg.tables.items()]
    tables = [(name, t, stream) for name, t, stream in tables  # else a reference problem names it
              if stream is not None and input_columns(t, stream.schema_)]
    if not tables:
        return []
    problems: list[str] = []
    con = connect()
    try:
        for name, table, stream in tables:
            try:
                build_plan(name, table, input_columns(table, stream.schema_), con)
            except PlanError as e:
                problems += e.problems
    finally:
        con.close()
    return problems


# --- names the registries give ---------------------------------------------------------------
# The config is a leaf, so its `format` and `compression` are strings; the readers' registry says
# which names are good, here (with pydantic's words for a bad literal) and in the JSON Schema.


def table_format_names() -> list[str]:
    """What a table's `format_settings.format` may say: Polaris' `tsv` (csv with tabs) and every format."""
    return [n for n in format_names() if n != "auto"] + ["tsv"]


def format_problems(data: dict) -> list[str]:
    stream_names, table_names = (format_names(), compression_names()), (table_format_names(), compression_names())
    places = [(f"streams.{name}", s, stream_names) for name, s in _section(data, "streams").items()]
    for name, t in _section(data, "tables").items():
        t = t if isinstance(t, dict) else {}
        places += [(f"tables.{name}.{key}", _section(t, key), stream_names) for key in ("source_options", "sourceOptions")]
        places += [(f"tables.{name}.{key}", _section(t, key), table_names) for key in ("format_settings", "formatSettings")]
    problems = []
    for where, fields, (formats, compressions) in places:
        for field, known in (("format", formats), ("compression", compressions)):
            if isinstance(fields, dict) and field in fields and fields[field] not in known:
                problems.append(f"{where}.{field}: Input should be {_one_of(known)}")
    return problems


def _one_of(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def json_schema() -> dict:
    """The JSON Schema of `pipelines.yaml` (`s3-pipelines schema`): the config's shapes, and the format
    and compression names of the readers' registry as enums."""
    schema = shape_schema()
    enums = {("StreamConfig", "format"): format_names(), ("StreamConfig", "compression"): compression_names(),
             ("FormatSettings", "format"): table_format_names(), ("FormatSettings", "compression"): compression_names()}
    for (model, field), allowed in enums.items():
        schema["$defs"][model]["properties"][field]["enum"] = allowed
    return schema
