"""The readers' own options: plain values, so a reader needs nothing from the config package
(`ReadOptions.from_stream` copies them out of a stream's config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CsvOptions:
    has_headers: bool = True
    skip_lines: int = 0  # lines to skip before the header (or first row)
    delimiter: str = ","
    quote_char: str = '"'
    column_names: tuple[str, ...] | None = None  # names when has_headers is false

    @classmethod
    def of(cls, csv) -> "CsvOptions":
        """From any object with these fields (a stream's `csv` section)."""
        names = getattr(csv, "column_names", None)
        return cls(csv.has_headers, csv.skip_lines, csv.delimiter, csv.quote_char,
                   tuple(names) if names is not None else None)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a typed input schema."""

    name: str
    type: str  # string | long | double | boolean | timestamp | date | json
