"""The thin Dagster layer: a validated config becomes `Definitions`."""

from .factory import build_definitions
from .translator import S3PipelinesAssetData, S3PipelinesTranslator

__all__ = ["S3PipelinesAssetData", "S3PipelinesTranslator", "build_definitions"]
