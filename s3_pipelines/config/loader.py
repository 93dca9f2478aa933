"""Find, read and parse `pipelines.yaml` into its models, with errors a person can act on.

Every problem is reported at once as `line N: yaml.path: what is wrong` under the file's name; no
traceback. Parsing checks the file's shape; `s3_pipelines.check` adds what needs more than one
section (references, jq, SQL, Port's files) and reports it the same way, through `locate`.
"""

from __future__ import annotations

import difflib
import os
import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from .connections import CONNECTION_TYPES
from .models import PipelinesConfig
from .secrets import SecretRef

ENV_VAR = "S3_PIPELINES_CONFIG"
DEFAULT_FILE = "pipelines.yaml"


class ConfigError(Exception):
    """A config that cannot be used; `problems` are ready-to-print lines."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = sorted(problems, key=_line_of)  # in the order of the file; unlocated ones last
        super().__init__(f"{self.path}: " + "; ".join(problems))

    def render(self) -> str:
        head = f"{self.path}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return "\n".join([head] + [f"  {p}" for p in self.problems])


def _line_of(problem: str) -> float:
    m = re.match(r"line (\d+)", problem)
    return int(m.group(1)) if m else float("inf")


@cache
def _field_names() -> tuple[str, ...]:
    """Every field name of the file's models (aliases included), for "did you mean" hints."""
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(PipelinesConfig.model_json_schema(by_alias=True))
    return tuple(sorted(names))


def did_you_mean(word: str, choices=None) -> str:
    """` (did you mean `compression`?)` when `word` is a likely misspelling of one of `choices`."""
    close = difflib.get_close_matches(str(word), list(choices if choices is not None else _field_names()), n=1, cutoff=0.75)
    return f" (did you mean `{close[0]}`?)" if close else ""


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


_UNION_TAGS = set(CONNECTION_TYPES)


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
        hint = did_you_mean(err["loc"][-1]) if err["loc"] else ""
        msg = f"unknown field{hint}" if hint else "unknown field (check the spelling; `s3-pipelines schema` lists the fields)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "union_tag_invalid":
        *most, last = CONNECTION_TYPES
        msg = f"unknown type {err.get('input', {}).get('type')!r}; expected {', '.join(most)} or {last}"
    return msg


def _format(exc: ValidationError, data, lines: dict[tuple, int]) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), data)
        msg = _message(err)
        if not loc and ": " in msg:
            problems += locate(msg.splitlines(), lines)  # the message names its own YAML path
            continue
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        ln = _nearest_line(lines, loc)
        problems.append(f"line {ln}: {dotted}: {msg}" if ln else f"{dotted}: {msg}")
    return problems


def locate(problems: list[str], lines: dict[tuple, int]) -> list[str]:
    """`yaml.path: what is wrong` -> `line N: yaml.path: what is wrong` (the nearest line of the path)."""
    out = []
    for problem in problems:
        ypath = tuple(int(s) if s.isdigit() else s for s in problem.split(":", 1)[0].split("."))
        ln = _nearest_line(lines, ypath)
        out.append(f"line {ln}: {problem}" if ln else problem)
    return out


def _nearest_line(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def read_file(path: str | os.PathLike | None = None) -> tuple[Path, dict, dict[tuple, int]]:
    """(resolved path, the file's data, YAML path -> line)."""
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
    return p, data, _line_index(node) if node else {}


def parse(path: Path, data: dict, lines: dict[tuple, int]) -> tuple[PipelinesConfig | None, list[str]]:
    """The file's models, or None and every problem of its shape."""
    try:
        cfg = PipelinesConfig.model_validate(data)
    except ValidationError as e:
        return None, _format(e, data, lines)
    literal = _literal_secrets(cfg)
    if literal:
        return None, locate([f"{where}: write {{env: VARIABLE_NAME}}; secrets do not belong in the file"
                             for where in literal], lines)
    cfg.source_path = path
    return cfg, []


def load_config(path: str | os.PathLike | None = None) -> PipelinesConfig:
    """The file parsed into its models (shape only; `s3_pipelines.check.load_checked` checks it all)."""
    p, data, lines = read_file(path)
    cfg, problems = parse(p, data, lines)
    if problems:
        raise ConfigError(p, problems)
    return cfg


def _literal_secrets(model, path: str = "") -> list[str]:
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
