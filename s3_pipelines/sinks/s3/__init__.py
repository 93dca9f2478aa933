"""S3 destinations (Pipedream's batched objects, Polytomic's target formats): the engine core,
free of Dagster and of the config models.

- `formats`: one encoder (and round-trip reader) per format — ndjson.gz, json, json-doc, csv, parquet;
- `windows`: batch windows from the data (arrival time or a record time field);
- `keys`: object keys from a template, Pipedream's layout by default, `{id}` the content's hash;
- `writer`: create-only PUT / multipart upload, and `abort_stale_uploads`;
- `destination`: one load -> one object per window (`write_load`);
- `written`: the SQLite record of written objects and inputs done, in the caller's transaction.
"""

from .destination import DestinationSpec, Input, LoadResult, WrittenObject, encode_window, write_load
from .formats import FORMATS, Format, get_format
from .keys import DEFAULT_TEMPLATE, render_key
from .windows import WindowError, parse_window, window_start
from .writer import Content, CreateOnlyWriter, ObjectExistsError, PutResult

__all__ = [
    "Content", "CreateOnlyWriter", "DEFAULT_TEMPLATE", "DestinationSpec", "FORMATS", "Format", "Input",
    "LoadResult", "ObjectExistsError", "PutResult", "WindowError", "WrittenObject", "encode_window",
    "get_format", "parse_window", "render_key", "window_start", "write_load",
]
