"""Port-style `blueprints`, `blueprints_files` and `mappings` sections (SPEC §1–2, seed 000).

Blueprints are accepted in Port's JSON shape (`schema: {properties, required}`, `relations`) and in
the shorter YAML shape (`properties`, `required`, `relations` at the top). A mapping is a Port
webhook mapping object (`blueprint`, `operation`, `filter`, `itemsToParse`, `entity`) plus where it
runs (`stream`, `target`, `name`), or a reference to a Port `mappings.json` file
(`port_mappings_file`) whose every element becomes one mapping. Files are read and cross-references
checked after parsing, in `s3_pipelines/catalog/entities.py`.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .base import Model

PROPERTY_TYPES = ("string", "number", "boolean", "object", "array")


# --- blueprints ------------------------------------------------------------------------------


class PropertySpec(BaseModel):
    """One blueprint property. Port's other keys (`title`, `description`, `icon`, `default`, `spec`,
    `enumColors`, ...) are accepted and kept; `type`, `format`, `enum` and `items` are enforced."""

    model_config = ConfigDict(extra="allow")

    type: Literal["string", "number", "boolean", "object", "array"]
    format: str | None = Field(None, description="checked: date-time, url, email; others are accepted as strings")
    enum: list[Any] | None = None
    items: dict[str, Any] | None = Field(None, description="arrays: {type, format, enum} of each element")
    title: str | None = None
    description: str | None = None


class RelationSpec(Model):
    target: str = Field(description="identifier of the related blueprint (`_user`, `_team`: Port's own)")
    title: str | None = None
    description: str | None = None
    many: bool = False
    required: bool = False


class BlueprintSchema(BaseModel):
    model_config = ConfigDict(extra="allow")

    properties: dict[str, PropertySpec] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)


class BlueprintConfig(Model):
    """A Port blueprint: Port's JSON (`schema.properties`, `schema.required`) or the YAML shape
    (`properties`, `required` at the top). The section key is its identifier."""

    identifier: str | None = Field(None, description="must equal the key under `blueprints` when given")
    title: str | None = None
    icon: str | None = None
    description: str | None = None
    schema_: BlueprintSchema | None = Field(None, alias="schema")
    properties: dict[str, PropertySpec] | None = None
    required: list[str] | None = None
    relations: dict[str, RelationSpec] = Field(default_factory=dict)
    # Port keys with no effect here (computed in Port's own backend), accepted so its files load unchanged
    mirrorProperties: dict[str, Any] | None = None
    calculationProperties: dict[str, Any] | None = None
    aggregationProperties: dict[str, Any] | None = None
    ownership: dict[str, Any] | None = None
    teamInheritance: dict[str, Any] | None = None
    changelogDestination: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_shape(self):
        if self.schema_ is not None and (self.properties is not None or self.required is not None):
            raise ValueError("give properties/required either under `schema` (Port's JSON) or at the top, not both")
        unknown = [r for r in self.required_names() if r not in self.property_specs()]
        if unknown:
            raise ValueError(f"required names unknown properties: {', '.join(unknown)}")
        return self

    def property_specs(self) -> dict[str, PropertySpec]:
        if self.schema_ is not None:
            return self.schema_.properties
        return self.properties or {}

    def required_names(self) -> list[str]:
        if self.schema_ is not None:
            return self.schema_.required
        return self.required or []


# --- mappings --------------------------------------------------------------------------------

# A relation is a jq expression (an identifier or a list of them), or a structure kept as given
# whose string leaves are jq expressions (Port's search relation `{combinator, rules}`).
RelationMapping = Union[str, dict[str, Any], list[Any]]


class EntityMapping(Model):
    identifier: str = Field(description="jq yielding the entity identifier (a string)")
    title: str | None = None
    icon: str | None = None
    team: str | None = None
    properties: dict[str, str] = Field(default_factory=dict, description="property -> jq")
    relations: dict[str, RelationMapping] = Field(default_factory=dict, description="relation -> jq or search object")


class DeleteOperation(Model):
    type: Literal["create", "delete"]
    deleteDependents: bool = Field(
        True, description="delete: also delete entities with a required relation to the deleted one")


class MappingConfig(Model):
    """An inline Port mapping (with `stream`, `target`, `name` added), or `port_mappings_file`."""

    name: str | None = Field(None, description="asset and audit name; default from the blueprint (and operation)")
    stream: str | None = Field(None, description="stream whose records are mapped")
    streams: dict[str, str] | None = Field(
        None, description="port_mappings_file: blueprint -> stream, when the file's mappings read different "
        "streams; mappings of blueprints not listed are not used")
    target: str | None = Field(None, description="SQL target connection of the catalog; default: the only one")
    description: str | None = None
    port_mappings_file: str | None = Field(
        None, description="a Port mappings.json (an array of mappings, or a webhook config with `mappings`), "
        "used unchanged; relative to this file")
    # Port's webhook mapping keys
    blueprint: str | None = None
    operation: Literal["create", "delete"] | DeleteOperation = "create"
    filter: str | None = Field(None, description="jq; the record makes entities only when it yields true")
    itemsToParse: str | None = Field(None, description="jq yielding an array; each element is `.item`")
    itemsToParseName: str = Field("item", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    entity: EntityMapping | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        import re

        if v is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError("names are letters, digits and _, not starting with a digit")
        return v

    @model_validator(mode="after")
    def _shape(self):
        if self.port_mappings_file is not None:
            inline = [k for k in ("blueprint", "entity", "filter", "itemsToParse") if getattr(self, k) is not None]
            if inline:
                raise ValueError(f"port_mappings_file takes its mappings from the file; remove {', '.join(inline)}")
            if (self.stream is None) == (self.streams is None):
                raise ValueError("port_mappings_file needs exactly one of stream (all its mappings) or streams")
            return self
        if self.streams is not None:
            raise ValueError("streams is for port_mappings_file; an inline mapping has one stream")
        if self.blueprint is None or self.entity is None:
            missing = [k for k in ("blueprint", "entity") if getattr(self, k) is None]
            raise ValueError(f"a mapping needs {' and '.join(missing)} (or port_mappings_file)")
        return self

    def operation_type(self) -> str:
        return self.operation if isinstance(self.operation, str) else self.operation.type

    def delete_dependents(self) -> bool:
        return True if isinstance(self.operation, str) else self.operation.deleteDependents
