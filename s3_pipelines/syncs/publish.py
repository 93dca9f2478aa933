"""Atomic replacement of a folder of objects in S3, which has no rename: generations and a pointer.

A partition's output lives in `<base><generation>/...`; `<base>_manifest.json` names the current
generation and its objects. A sync writes the new generation's objects first (create-only, keys
named by content), then PUTs the manifest (one PUT: readers see the old manifest or the new one,
never half of either), then deletes the previous generation's objects. A reader reads the manifest
and then the objects it lists — never the prefix — so it never sees half old and half new output.

The generation is a hash of the content, so a re-run that would write the same output finds its
generation published and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from ..connections.s3 import S3Client
from ..connections.s3.errors import error_code

MANIFEST = "_manifest.json"


@dataclass
class Published:
    base: str
    generation: str
    objects: list[dict] = field(default_factory=list)  # {key, rows, bytes, etag}
    replaced: str | None = None  # the previous generation, deleted
    unchanged: bool = False  # this generation was current already: nothing written

    @property
    def manifest_key(self) -> str:
        return self.base + MANIFEST


def read_manifest(client: S3Client, base: str) -> dict | None:
    try:
        body = client.boto.get_object(Bucket=client.bucket, Key=base + MANIFEST)["Body"].read()
    except ClientError as exc:
        if error_code(exc)[1] == 404 or error_code(exc)[0] == "NoSuchKey":
            return None
        raise
    return json.loads(body)


def publish(client: S3Client, base: str, generation: str, objects: list[dict], extra: dict | None = None) -> Published:
    """Make `generation` (whose `objects` are written already) current; delete the one it replaces."""
    old = read_manifest(client, base)
    manifest = {"generation": generation, "objects": objects,
                "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **(extra or {})}
    client.boto.put_object(Bucket=client.bucket, Key=base + MANIFEST, Body=json.dumps(manifest, indent=1).encode(),
                           ContentType="application/json")
    out = Published(base, generation, objects)
    if old and old.get("generation") != generation:
        keep = {o["key"] for o in objects}
        for o in old.get("objects", []):
            if o["key"] not in keep:
                client.delete(o["key"])
        out.replaced = old["generation"]
    return out


def current_objects(client: S3Client, base: str) -> list[str]:
    """The keys a reader of the partition reads: those of the current manifest."""
    m = read_manifest(client, base)
    return [o["key"] for o in m["objects"]] if m else []
