"""Key management over HTTP (admin scope); `qianmian keys ...` does the same from a shell."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from qianmian.api import keys as keystore
from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services

router = APIRouter(prefix="/v1/keys", tags=["keys"], dependencies=[require("admin")])


class KeyRequest(BaseModel):
    scopes: list[keystore.Scope] = Field(min_length=1, description="ingest, read and/or admin")
    name: str = Field("", max_length=200, description="Who or what the key is for")


@router.post("", status_code=201, summary="Create a key (the secret is shown once)")
def create(body: KeyRequest, svc: Services = Depends(services)) -> dict[str, Any]:
    secret, key = svc.locked(keystore.create_key, svc.store, body.scopes, name=body.name, now=svc.clock())
    svc.keyring.add(keystore.hash_key(secret), key)
    return {"key": secret, **key.to_dict()}


@router.get("", summary="Every key (never the secrets)")
def list_all(svc: Services = Depends(services)) -> list[dict[str, Any]]:
    return [k.to_dict() for k in svc.locked(keystore.list_keys, svc.store)]


@router.delete("/{key_id}", summary="Revoke a key")
def revoke(key_id: str, svc: Services = Depends(services)) -> dict[str, Any]:
    key = svc.locked(keystore.revoke_key, svc.store, key_id, now=svc.clock())
    svc.keyring.discard(key_id)
    return key.to_dict()
