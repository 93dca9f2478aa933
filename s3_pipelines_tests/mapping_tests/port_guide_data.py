"""Airbyte-shaped records for the streams that Port's published Slack, Okta and HiBob guides map
(fields at the root, as Airbyte's S3 destination flattens them, plus `_airbyte_*` metadata).
Values vary the way real exports do: nulls, numbers sent as strings, nested objects, unicode, and
identifiers repeated across objects (later records update earlier entities)."""

from __future__ import annotations

import random

GUIDES = ("slack", "okta", "hibob")
STREAMS = {
    "slack": ("channels", "users", "channel_members"),
    "okta": ("custom_roles", "permissions", "user_role_assignments", "users"),
    "hibob": ("payroll", "profiles"),
}
NAMES = ["ana", "Bjørn", "chen 陈", "dee", "élodie", "femi"]


def _meta(rng: random.Random, i: int) -> dict:
    return {"_airbyte_raw_id": f"{rng.getrandbits(64):016x}", "_airbyte_extracted_at": f"2026-11-20T09:{i % 60:02d}:00.000Z",
            "_airbyte_meta": {"changes": [], "sync_id": 7}, "_airbyte_generation_id": 1}


def _ts(rng: random.Random) -> str:
    return f"20{rng.randint(15, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00.000Z"


def _maybe(rng: random.Random, v, p: float = 0.2):
    return None if rng.random() < p else v


def record(guide: str, stream: str, i: int, rng: random.Random) -> dict:
    n = NAMES[i % len(NAMES)]
    if guide == "slack":
        if stream == "channels":
            members = rng.randint(0, 500)
            return {"id": f"C{i:05d}", "name_normalized": f"chan-{n}", "is_private": rng.random() < 0.3,
                    "purpose": {"value": _maybe(rng, f"talk about {n}"), "creator": "U1", "last_set": 0},
                    "context_team_id": "T01", "is_shared": False, "previous_names": [f"old-{n}"] if i % 2 else [],
                    "creator": f"U{i % 7:05d}", "created": 1_600_000_000 + i, "is_ext_shared": False,
                    "is_group": False, "is_archived": i % 5 == 0,
                    "num_members": str(members) if i % 3 == 0 else members,  # Slack sends both
                    "topic": {"value": f"topic {i}", "creator": "", "last_set": 0}, "shared_team_ids": ["T01"],
                    "is_org_shared": False, **_meta(rng, i)}
        if stream == "users":
            return {"id": f"U{i:05d}", "name": n, "tz": _maybe(rng, "Europe/Oslo"), "is_restricted": False,
                    "is_primary_owner": i == 0, "real_name": f"{n.title()} Q.", "team_id": "T01",
                    "is_admin": i % 4 == 0, "is_app_user": False, "deleted": i % 9 == 0, "is_bot": False,
                    "profile": {"email": f"{n.split()[0]}{i}@example.com", "display_name": n}, **_meta(rng, i)}
        return {"channel_id": f"C{i % 11:05d}", "member_id": f"U{i % 13:05d}", **_meta(rng, i)}
    if guide == "okta":
        links = {"self": {"href": f"https://acme.okta.com/api/v1/{stream}/{i}"}}
        if stream == "custom_roles":
            return {"id": f"cr0{i:04d}", "label": f"Role {n}", "description": _maybe(rng, f"role for {n}"),
                    "created": _ts(rng), "lastUpdated": _ts(rng), "_links": links, **_meta(rng, i)}
        if stream == "permissions":
            return {"label": f"okta.users.{['read', 'manage'][i % 2]}", "created": _ts(rng),
                    "conditions": _maybe(rng, {"include": {"okta:ResourceAttribute/User/Profile": ["city"]}}, 0.5),
                    "_links": {"self": {"href": f"https://acme.okta.com/api/v1/iam/roles/cr0{i % 5:04d}/permissions/p{i}"}},
                    **_meta(rng, i)}
        if stream == "user_role_assignments":
            return {"id": f"ra{i:04d}", "label": "Custom", "type": "CUSTOM", "status": "ACTIVE", "created": _ts(rng),
                    "assignmentType": "USER", "userId": f"00u{i % 9:04d}", "_links": links, **_meta(rng, i)}
        return {"id": f"00u{i:04d}", "status": ["ACTIVE", "STAGED"][i % 2], "created": _ts(rng), "activated": _ts(rng),
                "statusChanged": _ts(rng), "lastLogin": _maybe(rng, _ts(rng)), "passwordChanged": _ts(rng),
                "type": {"id": "oty1"}, "profile": {"login": f"{n.split()[0]}{i}@acme.com", "firstName": n,
                                                     "email": f"{n.split()[0]}{i}@acme.com"},
                "_links": links, **_meta(rng, i)}
    if stream == "payroll":
        return {"id": f"{3_000_000 + i}", "displayName": f"{n.title()} {i}", "creationDate": f"2024-0{1 + i % 9}-1{i % 10}",
                "firstName": n, "avatarUrl": f"https://img.hibob.com/a/{i}.png", "companyId": "640",
                "surname": "Doe", "state": "employed", "email": f"{n.split()[0]}{i}@acme.com",
                "creationDatetime": _ts(rng), "coverImageUrl": _maybe(rng, f"https://img.hibob.com/c/{i}.png"),
                "fullName": f"{n} Doe", **_meta(rng, i)}
    return {"id": f"{3_000_000 + i}", "displayName": f"{n.title()} {i}", "companyId": "640", "firstName": n,
            "surname": "Doe", "email": f"{n.split()[0]}{i}@acme.com",
            "work": {"isManager": i % 4 == 0, "durationOfEmployment": {"humanize": f"{i % 12} months", "years": 0}},
            **_meta(rng, i)}


def objects(guide: str, stream: str, seed: int, n_objects: int = 2, per_object: int = 15) -> list[list[dict]]:
    """Records of `n_objects` objects; the second repeats some identifiers of the first."""
    rng = random.Random(f"{guide}/{stream}/{seed}")
    out = []
    for o in range(n_objects):
        start = o * (per_object - 5)  # overlap: a later object updates 5 entities of the one before
        out.append([record(guide, stream, i, rng) for i in range(start, start + per_object)])
    return out
