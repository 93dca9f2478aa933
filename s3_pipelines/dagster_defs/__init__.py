"""The thin Dagster layer: a validated config becomes `Definitions`."""

from .factory import build_definitions

__all__ = ["build_definitions"]
