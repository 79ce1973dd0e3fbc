"""Saved audiences: versions, priority, deletion, bad rules that change nothing, membership lookups, self-tags."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qianmian.audiences import AudienceRegistry, MembershipIndex, RuleError, materialize
from qianmian.audiences.membership import preview_audience
from qianmian.consumers.tags import active_tags, remove_tags, set_tags
from qianmian.errors import ConflictError, InputError, NotFoundError
from qianmian.store import connect

AS_OF = dt.date(2024, 3, 31)
AT = dt.datetime(2024, 4, 1, 9)


@pytest.fixture
def duck(tmp_path):
    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    rows = [
        {"event_id": f"e{i}", "user_id": f"u{i % 5}", "behavior": "buy" if i % 2 else "view",
         "category_id": "coffee" if i % 3 else "tea", "ts": dt.datetime(2024, 3, 1 + i % 28, 10), "amount": 10.0 * i, "order_id": f"o{i}"}
        for i in range(40)
    ]
    store.append("events", pd.DataFrame(rows))
    store.append("users", pd.DataFrame({"user_id": ["u0", "u1", "u9"], "country": ["UK", "FR", "UK"]}))
    return store


def test_versions_priority_and_delete(duck) -> None:
    reg = AudienceRegistry(duck)
    a = reg.create("big", "monetary(30d) > 1000", priority=5, description="big spenders", at=AT)
    reg.create("uk", 'trait("country") = "UK"', priority=1, at=AT)
    assert a.version == 1 and a.sentence().startswith("Consumers whose spend in the last 30 days")
    with pytest.raises(ConflictError):
        reg.create("big", "monetary(30d) > 5", at=AT)
    b2 = reg.create("big", "monetary(30d) > 500", priority=5, replace=True, at=AT)
    assert b2.version == 2 and reg.get("big").rule == "monetary(30d) > 500"
    assert reg.get("big", version=1).rule == "monetary(30d) > 1000"
    assert [x.name for x in reg.list()] == ["uk", "big"]  # priority 1 before 5
    reg.delete("big", at=AT)
    assert [x.name for x in reg.list()] == ["uk"]
    with pytest.raises(NotFoundError):
        reg.get("big")
    assert [h.version for h in reg.history("big")] == [1, 2]
    assert reg.create("big", "frequency >= 1", at=AT).version == 4  # versions keep counting after a delete


@pytest.mark.parametrize(
    "rule",
    ["foo(3) > 1", "monetary(365d) > \"x\"", "(aipl = \"I\"", "count(view, 30x) > 1", '"; drop table events; --',
     'aipl = "I"; drop table events; --', 'in_audience("nobody")'],
)
def test_bad_rules_change_nothing(duck, rule: str) -> None:
    reg = AudienceRegistry(duck)
    reg.create("keep", "frequency >= 1", at=AT)
    before = {t: duck.count(t) for t in ("audiences", "events", "users")}
    with pytest.raises(RuleError):
        reg.create("new", rule, at=AT)
    with pytest.raises(RuleError):
        reg.create("keep", rule, replace=True, at=AT)
    assert {t: duck.count(t) for t in ("audiences", "events", "users")} == before
    assert reg.get("keep").rule == "frequency >= 1"


def test_names_cycles_and_references(duck) -> None:
    reg = AudienceRegistry(duck)
    with pytest.raises(InputError, match="audience name"):
        reg.create("drop table;", "frequency >= 1", at=AT)
    reg.create("staff", 'trait("country") = "UK"', at=AT)
    reg.create("buyers", 'frequency >= 1 and not in_audience("staff")', at=AT)
    with pytest.raises(InputError, match="cycle"):
        reg.create("staff", 'in_audience("buyers")', replace=True, at=AT)
    with pytest.raises(ConflictError, match="buyers"):
        reg.delete("staff", at=AT)


def test_preview_materialize_and_lookup(duck) -> None:
    reg = AudienceRegistry(duck)
    reg.create("uk", 'trait("country") = "UK"', priority=1, at=AT)
    reg.create("tea", 'count(view, category = "tea", 30d) >= 1', priority=2, at=AT)
    reg.create("nobody", "monetary(30d) > 1000000", priority=3, at=AT)
    p = preview_audience(reg, "uk", as_of=AS_OF, sample=10)
    assert (p.size, p.total, p.share, sorted(p.sample)) == (2, 6, 2 / 6, ["u0", "u9"])
    assert preview_audience(reg, 'count(view, category = "tea", 30d) >= 1', as_of=AS_OF, sample=2).sample == \
        preview_audience(reg, 'count(view, category = "tea", 30d) >= 1', as_of=AS_OF, sample=2).sample
    result = materialize(duck, AS_OF)
    again = materialize(duck, AS_OF)  # re-materializing the same day replaces, never duplicates
    assert result.counts == again.counts and result.counts["nobody"] == 0
    assert duck.count("audience_members") == sum(result.counts.values())
    index = MembershipIndex.load(duck, as_of=AS_OF)
    tea = set(duck.execute(duck.table("audience_members").filter(lambda t: t.audience == "tea")).user_id)
    assert "u0" in tea and index.audiences_of("u0") == ["uk", "tea"] and index.primary("u0") == "uk"
    assert index.audiences_of("stranger") == [] and index.primary("stranger") is None
    reg.create("uk", 'trait("country") = "FR"', priority=1, replace=True, at=AT)
    assert "uk" not in MembershipIndex.load(duck, as_of=AS_OF).audiences_of("u0")  # stale version ignored


def test_index_orders_by_priority_then_name() -> None:
    frame = pd.DataFrame({"user_id": ["a", "a", "a", "b"], "audience": ["z", "y", "x", "y"], "priority": [1, 2, 2, 2]})
    index = MembershipIndex.from_frame(frame)
    assert index.audiences_of("a") == ["z", "x", "y"] and index.primary("b") == "y" and len(index) == 2


def test_self_tags_log(duck) -> None:
    t0 = dt.datetime(2024, 1, 1)
    assert set_tags(duck, "u1", ["Budget", " unscented "], source="self", ts=t0) == ["budget", "unscented"]
    assert set_tags(duck, "u1", ["vegan"], source="guide", ts=t0 + dt.timedelta(days=1)) == ["budget", "unscented", "vegan"]
    assert remove_tags(duck, "u1", ["budget"], source="self", ts=t0 + dt.timedelta(days=2)) == ["unscented", "vegan"]
    assert set_tags(duck, "u1", ["素食"], source="self", ts=t0 + dt.timedelta(days=3), replace=True) == ["素食"]
    assert active_tags(duck, "u1", as_of=dt.date(2024, 1, 1)) == ["budget", "unscented"]
    log = duck.execute(duck.table("user_tags"))
    assert set(log.source) == {"self", "guide"} and log.ts.notna().all()
    with pytest.raises(InputError, match="tag"):
        set_tags(duck, "u1", ["no,commas"], source="self", ts=t0)
    with pytest.raises(InputError, match="ts"):
        set_tags(duck, "u1", ["ok"], source="self", ts="yesterday")  # type: ignore[arg-type]
