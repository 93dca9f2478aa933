"""The readers' own options: plain values, so a reader needs nothing from the config package
(`ingest.read_options` copies them out of a stream's config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CsvOptions:
    has_headers: bool = True
    skip_lines: int = 0  # lines to skip before the header (or first row)
    delimiter: str = ","
    quote_char: str = '"'
    column_names: tuple[str, ...] | None = None  # names when has_headers is false


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a typed input schema."""

    name: str
    type: str  # string | long | double | boolean | timestamp | date | json
