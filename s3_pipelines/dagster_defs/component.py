"""The pipelines file as a Dagster component, for `dg` (`dg check defs`, `dg list defs`, `dg dev`):

    # defs/pipelines/defs.yaml
    type: s3_pipelines.dagster_defs.component.S3PipelinesComponent
    attributes:
      config_path: ../../pipelines.yaml    # relative to this file; default $S3_PIPELINES_CONFIG, then ./pipelines.yaml

Subclass it and override `get_translator` to rename assets (see translator.py).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ..config import ConfigError, load_config
from .factory import build_definitions
from .translator import S3PipelinesTranslator


class S3PipelinesComponent(dg.Component, dg.Model, dg.Resolvable):
    """Every stream, mapping and table of one pipelines.yaml: assets, checks, jobs, sensors and
    resources, as `dagster dev -w workspace.yaml` shows them."""

    config_path: str | None = None

    def get_translator(self) -> S3PipelinesTranslator:
        return S3PipelinesTranslator()

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        path = None if self.config_path is None else context.path / Path(self.config_path).expanduser()
        try:
            cfg = load_config(path)
        except ConfigError as e:  # a readable message instead of a pydantic traceback
            raise RuntimeError(e.render()) from None
        return build_definitions(cfg, translator=self.get_translator())
