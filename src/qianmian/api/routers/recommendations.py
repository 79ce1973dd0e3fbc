"""Recommendations by scene, and similar items."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.services import Services
from qianmian.errors import InputError

router = APIRouter(tags=["recommendations"], dependencies=[require("read")])

Scene = Literal["home", "similar", "cart", "post_purchase"]


class Item(BaseModel):
    item_id: str
    score: float
    reason: str


class Recommendations(BaseModel):
    user_id: str | None = None
    item_id: str | None = None
    scene: str
    items: list[Item]


@router.get("/v1/recommendations/{user_id}", response_model=Recommendations, summary="Recommendations for a scene")
async def recommendations(
    user_id: str = Path(min_length=1, max_length=256),
    scene: Scene = Query("home", description="home (guess you like), similar (needs item_id), cart (needs cart), post_purchase (needs item_id)"),
    k: int = Query(10, ge=1, le=100),
    item_id: str | None = Query(None, min_length=1, max_length=256, description="The item for similar / post_purchase"),
    cart: list[str] | None = Query(None, max_length=100, description="Item ids in the cart (repeat the parameter)"),
    svc: Services = Depends(services),
) -> Recommendations:
    if scene in ("similar", "post_purchase") and not item_id:
        raise InputError("item_id", f"an item id for scene {scene!r}", None)
    if scene == "cart" and not cart:
        raise InputError("cart", "one or more item ids for scene 'cart'", cart)
    recs = svc.storefront.products.recommend(user_id, scene, k, item_id=item_id, cart=cart)
    return Recommendations(user_id=user_id, scene=scene, items=[Item(item_id=r.item_id, score=r.score, reason=r.reason) for r in recs])


@router.get("/v1/items/{item_id}/similar", response_model=Recommendations, summary="Items similar to an item")
async def similar(
    item_id: str = Path(min_length=1, max_length=256),
    k: int = Query(10, ge=1, le=100),
    svc: Services = Depends(services),
) -> Recommendations:
    recs = svc.storefront.products.similar(item_id, k)
    return Recommendations(item_id=item_id, scene="similar", items=[Item(item_id=r.item_id, score=r.score, reason=r.reason) for r in recs])
