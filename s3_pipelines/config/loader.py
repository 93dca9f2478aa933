"""Find, read and validate `pipelines.yaml`, with errors a person can act on.

Every problem is reported at once as `FILE:LINE: yaml.path: what is wrong`; no traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from .models import PipelinesConfig, reference_problems

ENV_VAR = "S3_PIPELINES_CONFIG"
DEFAULT_FILE = "pipelines.yaml"


class ConfigError(Exception):
    """A config that cannot be used; `problems` are ready-to-print lines."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))

    def render(self) -> str:
        head = f"{self.path}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return "\n".join([head] + [f"  {p}" for p in self.problems])


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """--config, then $S3_PIPELINES_CONFIG, then ./pipelines.yaml."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_FILE).expanduser().resolve()


def _line_index(node, path=()) -> dict[tuple, int]:
    """Map each YAML path (tuple of keys/indexes) to its 1-based line."""
    out = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[path + (key,)] = k.start_mark.line + 1
            out.update(_line_index(v, path + (key,)))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out.update(_line_index(v, path + (i,)))
    return out


_UNION_TAGS = {"s3", "duckdb", "postgres"}


def _clean_loc(loc: tuple, data) -> tuple:
    """Drop pydantic's union-tag segments (`connections.lake.s3.bucket` -> `connections.lake.bucket`)."""
    out, cur = [], data
    for part in loc:
        if isinstance(part, str) and part in _UNION_TAGS and not (isinstance(cur, dict) and part in cur):
            continue
        if part == "schema_":
            part = "schema"
        out.append(part)
        cur = cur.get(part) if isinstance(cur, dict) else (
            cur[part] if isinstance(cur, list) and isinstance(part, int) and part < len(cur) else None
        )
    return tuple(out)


def _message(err: dict) -> str:
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; `s3-pipelines schema` lists the fields)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "union_tag_invalid":
        msg = f"unknown type {err.get('input', {}).get('type')!r}; expected s3, duckdb or postgres"
    return msg


def _format(path: Path, exc: ValidationError, data, lines: dict[tuple, int]) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), data)
        msg = _message(err)
        if not loc and "\n" in msg or (not loc and ": " in msg):
            # cross-reference problems already name their own YAML path
            for line in msg.splitlines():
                ypath = tuple(int(s) if s.isdigit() else s for s in line.split(":", 1)[0].split("."))
                ln = _nearest_line(lines, ypath)
                problems.append(f"line {ln}: {line}" if ln else line)
            continue
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        ln = _nearest_line(lines, loc)
        problems.append(f"line {ln}: {dotted}: {msg}" if ln else f"{dotted}: {msg}")
    return problems


def _nearest_line(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def load_config(path: str | os.PathLike | None = None) -> PipelinesConfig:
    p = config_path(path)
    if not p.is_file():
        raise ConfigError(p, [f"no such file (give --config PATH or set {ENV_VAR})"])
    text = p.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(p, [f"{where}not valid YAML: {getattr(e, 'problem', e)}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(p, ["the file must be a mapping with a `connections` section"])
    try:
        cfg = PipelinesConfig.model_validate(data, context={"base_dir": p.parent})  # files named in it
    except ValidationError as e:
        lines = _line_index(node) if node else {}
        problems = _format(p, e, data, lines)
        for extra in reference_problems(data):  # not reached by pydantic once a field failed
            ypath = tuple(extra.split(":", 1)[0].split("."))
            ln = _nearest_line(lines, ypath)
            line = f"line {ln}: {extra}" if ln else extra
            if line not in problems:
                problems.append(line)
        raise ConfigError(p, problems) from None
    literal = [f"{path}: write {{env: VARIABLE_NAME}}; secrets do not belong in the file" for path in _literal_secrets(cfg)]
    if literal:
        raise ConfigError(p, literal)
    cfg.source_path = p
    return cfg


def _literal_secrets(model, path: str = "") -> list[str]:
    from pydantic import BaseModel

    from .secrets import SecretRef

    found = []
    if isinstance(model, SecretRef):
        return [path] if model.value is not None else []
    if isinstance(model, BaseModel):
        for name in type(model).model_fields:
            found += _literal_secrets(getattr(model, name), f"{path}.{name}".lstrip("."))
    elif isinstance(model, dict):
        for k, v in model.items():
            found += _literal_secrets(v, f"{path}.{k}".lstrip("."))
    return found
