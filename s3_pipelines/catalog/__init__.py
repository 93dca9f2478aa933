"""The entity catalog on a SQL target: blueprint validation, merge upserts, deletes with
dependents, the audit log, export. Nothing here knows Dagster."""

from .apply import ObjectApplied, PartitionReport, apply_object, apply_partition
from .export import audit_rows, entity_counts, export_entities
from .schema import AUDIT, ENTITIES, RELATIONS, ensure_catalog
from .validate import identifier_problem, validate_entity
from .writer import AuditContext, CatalogWriter, WriteCounts

__all__ = ["AUDIT", "ENTITIES", "RELATIONS", "AuditContext", "CatalogWriter", "ObjectApplied", "PartitionReport",
           "WriteCounts", "apply_object", "apply_partition", "audit_rows", "ensure_catalog", "entity_counts",
           "export_entities", "identifier_problem", "validate_entity"]
