"""The Dagster code location: `dagster dev`, `dagster asset materialize -m s3_pipelines.definitions`.

The config comes from $S3_PIPELINES_CONFIG, else ./pipelines.yaml (as for the CLI).
"""

from .config import ConfigError, load_config
from .dagster_defs import build_definitions

try:
    _config = load_config()
except ConfigError as e:  # a readable message instead of a pydantic traceback in the UI
    raise RuntimeError(e.render()) from None

defs = build_definitions(_config)
