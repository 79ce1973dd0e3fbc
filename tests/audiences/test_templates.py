"""Templates: Nivea's eight crowds partition the Taobao consumers they cover; Nestlé and ZARA fall back to top categories."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from qianmian.audiences import AudienceRegistry, materialize
from qianmian.audiences.templates import Slot, apply, match_slots, template

AS_OF = dt.date(2017, 12, 3)
AT = dt.datetime(2017, 12, 4)


def test_nivea_on_taobao_partitions_the_covered_consumers(taobao, tmp_path) -> None:
    drafts = template("nivea", taobao, as_of=AS_OF)
    assert len(drafts) == 8 and len({d.name for d in drafts}) == 8
    registry = AudienceRegistry(taobao)
    apply(registry, drafts, replace=True, at=AT)
    result = materialize(taobao, AS_OF, names=[d.name for d in drafts])
    members = taobao.execute(taobao.table("audience_members").filter(lambda t: t.as_of == AS_OF))
    members = members[members.audience.isin([d.name for d in drafts])]
    assert members.user_id.is_unique  # no one in two of the eight
    assert set(result.counts) == {d.name for d in drafts}
    assert sum(result.counts.values()) == len(members) == result.consumers

    # independent reference with pandas: buyers are old customers (all active in a 9-day slice);
    # non-buyers go to the interest category they touched most, ties to the earlier slot
    ev = taobao.execute(taobao.table("events").select("user_id", "behavior", "category_id"))
    buyers = set(ev.user_id[ev.behavior == "buy"])
    assert result.counts["nivea_old_active"] == len(buyers)
    assert result.counts["nivea_old_silent"] == result.counts["nivea_old_churning"] == result.counts["nivea_old_lost"] == 0
    slots = [d for d in drafts if d.name.startswith("nivea_new_")]
    cats = [d.categories[0] for d in slots]
    assert all(len(d.categories) == 1 for d in slots)  # Taobao ids match no keyword: one top category each
    browse = ev[~ev.user_id.isin(buyers) & ev.category_id.isin(cats)]
    table = pd.crosstab(browse.user_id, browse.category_id).reindex(columns=cats, fill_value=0)
    winner = table.to_numpy().argmax(axis=1)  # argmax keeps the first of equal maxima
    expected = pd.Series(winner).map(dict(enumerate(d.name for d in slots))).value_counts()
    for d in slots:
        assert result.counts[d.name] == int(expected.get(d.name, 0)), d.name


def test_nestle_and_zara_fall_back_to_top_categories(taobao) -> None:
    nestle = template("nestle", taobao, as_of=AS_OF)
    assert [d.name for d in nestle] == ["nestle_coffee", "nestle_milk_powder", "nestle_candy"]
    assert all("store's next top category" in d.description for d in nestle)
    zara = template("zara", taobao, as_of=AS_OF)
    assert [d.name for d in zara] == ["zara_male", "zara_female", "zara_general"]
    assert 'in_audience("zara_male")' in zara[2].rule


def test_keyword_matching_is_by_whole_word() -> None:
    slots = (Slot("m", "men", ("men",)), Slot("w", "women", ("women",)), Slot("c", "coffee", ("coffee", "咖啡")))
    cats = ["WOMENS TOPS", "MENS SHIRTS", "SNOWMEN", "速溶咖啡", "BAG"]
    got = match_slots(slots, cats)
    assert got == {"m": (("MENS SHIRTS",), True), "w": (("WOMENS TOPS",), True), "c": (("速溶咖啡",), True)}
    assert match_slots((Slot("x", "x", ("nothing",)),), cats) == {"x": (("WOMENS TOPS",), False)}
