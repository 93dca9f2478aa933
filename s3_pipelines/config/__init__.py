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
