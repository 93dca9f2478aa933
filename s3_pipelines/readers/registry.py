"""Every input format, by name. A new format is one module beside this one (its reader and its
`FORMAT = Format(...)`, see `base.Format`) plus one line here; the names a config may give
(`check.py`, the JSON Schema of `s3-pipelines schema`) and the key suffixes come from here.
Compressions are `compression.CODECS`."""

from __future__ import annotations

from . import arrow, csv, json, jsonl, parquet
from .base import Format
from .compression import CODECS

FORMATS: dict[str, Format] = {f.name: f for f in (
    csv.FORMAT,
    jsonl.FORMAT,
    json.FORMAT,
    parquet.FORMAT,
    arrow.FORMAT,
)}

ALIASES = {alias: f.name for f in FORMATS.values() for alias in f.aliases}
SUFFIXES = {suffix: f.name for f in FORMATS.values() for suffix in f.suffixes}
COMPRESSION_SUFFIXES = {suffix: c.name for c in CODECS.values() for suffix in c.suffixes}


def format_names() -> list[str]:
    """What a stream's `format` may say: every name, every alias, and `auto`."""
    return [*FORMATS, *ALIASES, "auto"]


def compression_names() -> list[str]:
    return ["auto", *CODECS, "none"]


def get_format(name: str) -> Format:
    try:
        return FORMATS[ALIASES.get(name, name)]
    except KeyError:
        raise ValueError(f"unknown format {name!r}") from None


def split_suffixes(key: str) -> tuple[Format | None, str | None]:
    """(format, compression) named by the key's extensions, each None when not named."""
    name = key.rsplit("/", 1)[-1].lower()
    compression = None
    for suffix, codec in COMPRESSION_SUFFIXES.items():
        if name.endswith(suffix):
            name, compression = name[: -len(suffix)], codec
            break
    dot = name.rfind(".")
    fmt = SUFFIXES.get(name[dot:]) if dot >= 0 else None
    return (FORMATS[fmt] if fmt else None), compression


def detect_format(key: str) -> str | None:
    fmt = split_suffixes(key)[0]
    return fmt.name if fmt else None


def by_magic(head: bytes) -> Format | None:
    """The random-access format whose magic bytes start `head`, if any."""
    return next((f for f in FORMATS.values() if f.magic and head.startswith(f.magic)), None)


HEAD_BYTES = max(len(m) for m in [*(f.magic for f in FORMATS.values()), *(c.magic for c in CODECS.values())])
