"""Shopper-side: self-tags, the guided-selling flow, consent, opt-out and erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services

router = APIRouter(prefix="/v1", tags=["shoppers"])

UserId = Path(min_length=1, max_length=256, description="The shopper's id")


class TagsIn(BaseModel):
    tags: list[str] = Field(default_factory=list, max_length=50, description='Tags to set, e.g. ["budget", "unscented"]')
    remove: list[str] = Field(default_factory=list, max_length=50, description="Tags to remove")
    replace: bool = Field(False, description="Remove every other active tag")


class Answer(BaseModel):
    question_id: str = Field(min_length=1, max_length=100)
    choices: list[str] = Field(min_length=1, max_length=20, description="Option labels or tags")


class Consent(BaseModel):
    consent: bool


@router.put("/users/{user_id}/tags", summary="Set the shopper's self-tags", dependencies=[require("ingest")])
def put_tags(body: TagsIn, user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    tags = svc.tags.set_tags(user_id, body.tags, now=svc.clock(), source="self", remove=body.remove, replace_all=body.replace)
    return {"user_id": user_id, "tags": tags}


@router.get("/users/{user_id}/tags", summary="The shopper's active self-tags", dependencies=[require("read")])
async def get_tags(user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    return {"user_id": user_id, "tags": svc.tags.tags_of(user_id)}


@router.get("/guide/{user_id}", summary="The guide's next question (null when all are answered)", dependencies=[require("read")])
async def guide_next(user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    q = svc.guide.next(user_id)
    return {"user_id": user_id, "question": None if q is None else q.to_dict(), "tags": svc.tags.tags_of(user_id)}


@router.post("/guide/{user_id}", summary="Answer a guide question; the answer becomes self-tags", dependencies=[require("ingest")])
def guide_answer(body: Answer, user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    tags = svc.guide.answer(user_id, body.question_id, body.choices, now=svc.clock())
    q = svc.guide.next(user_id)
    return {"user_id": user_id, "tags": tags, "next": None if q is None else q.to_dict()}


@router.put("/users/{user_id}/consent", summary="Record the shopper's consent to personalization", dependencies=[require("ingest")])
def put_consent(body: Consent, user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    svc.consent.set_consent(user_id, body.consent, now=svc.clock())
    return {"user_id": user_id, "consent": body.consent}


@router.post("/users/{user_id}/opt-out", summary="Opt out: default pages only, no profiling from now on", dependencies=[require("ingest")])
def opt_out(user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    svc.consent.set_consent(user_id, False, now=svc.clock())
    return {"user_id": user_id, "consent": False}


@router.delete(
    "/users/{user_id}",
    summary="Erase the shopper everywhere and say what was erased",
    description="Deletes the shopper's rows from every table with a user column (events, users, tags, exposures, features, audience members …), their model vectors and live history, and the write-ahead log segments that held their events.",
    dependencies=[require("admin")],
)
def erase(user_id: str = UserId, svc: Services = Depends(services)) -> dict[str, Any]:
    purged = svc.log.purge()  # everything logged so far is in the store; old segments removed
    report = svc.erasure.erase(user_id)
    svc.storefront.refresh()
    return {"user_id": user_id, "erased": report["tables"], "models": report["models"], "write_ahead_log": "purged" if purged else "not purged (writer busy; retry)"}
