"""`pipelines.yaml` as data: its models, and the loader that parses the file into them. A leaf:
nothing here imports the rest of the package; `s3_pipelines.check` checks a parsed file."""

from .connections import CONNECTION_TYPES
from .loader import ConfigError, config_path, load_config
from .models import (
    ColumnSpec,
    PipelinesConfig,
    S3ConnectionConfig,
    StreamConfig,
    json_schema,
)
from .secrets import SecretRef

__all__ = [
    "CONNECTION_TYPES",
    "ColumnSpec",
    "ConfigError",
    "PipelinesConfig",
    "S3ConnectionConfig",
    "SecretRef",
    "StreamConfig",
    "config_path",
    "json_schema",
    "load_config",
]
