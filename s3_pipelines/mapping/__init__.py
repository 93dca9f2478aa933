"""Port-style entity mappings: jq expressions compiled once per mapping, applied to records.

Nothing here knows Dagster or a database: records in, entity results (with their lines) out."""

from .compile import CompiledMapping, compile_mapping
from .port_jq import JqSyntaxError, compile_jq, port_to_jq
from .records import batch_records
from .results import EntityResult, MapOutput
from .spec import MappingSpec

__all__ = ["CompiledMapping", "EntityResult", "JqSyntaxError", "MapOutput", "MappingSpec", "batch_records",
           "compile_jq", "compile_mapping", "port_to_jq"]
