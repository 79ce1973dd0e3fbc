"""Named populations on the bundled real Taobao slice, including saved audiences (`audience:NAME`)."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files

import pytest

from qianmian.audiences import AudienceRegistry, materialize
from qianmian.audiences.populations import population
from qianmian.errors import InputError, NotFoundError
from qianmian.ingest import ingest_file
from qianmian.metrics.tgi import tgi_report
from qianmian.store import connect

AS_OF = dt.date(2017, 12, 3)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    store = connect(f"duckdb:///{tmp_path_factory.mktemp('populations') / 'store.duckdb'}")
    ingest_file(store, files("qianmian.demo") / "taobao_ub_84k.csv.gz", layout="taobao")
    AudienceRegistry(store).create("carters", "count(cart, 7d) >= 3")
    materialize(store, dt.date(2017, 12, 2))
    materialize(store, AS_OF)
    yield store
    store.close()


def _ids(store, t) -> set[str]:
    return set(store.execute(t).user_id)


def test_an_audience_is_a_population_at_its_latest_materialization(shop):
    m = shop.table("audience_members")
    for day in (dt.date(2017, 12, 2), AS_OF):
        stored = _ids(shop, m.filter(m.audience == "carters", m.as_of == day))
        assert len(stored) > 20 and _ids(shop, population(shop, "audience:carters", as_of=day)) == stored
    latest = _ids(shop, m.filter(m.audience == "carters", m.as_of == AS_OF))
    assert _ids(shop, population(shop, "audience:carters", as_of=dt.date(2017, 12, 10))) == latest


def test_tgi_of_an_audience_equals_tgi_of_its_member_table(shop):
    m = shop.table("audience_members")
    members = m.filter(m.audience == "carters", m.as_of == AS_OF).select("user_id")
    everyone = population(shop, "all")
    by_name = tgi_report(shop, target=population(shop, "audience:carters", as_of=AS_OF), reference=everyone,
                         by="category_id", min_count=5)
    by_table = tgi_report(shop, target=members, reference=everyone, by="category_id", min_count=5)
    assert by_name.rows == by_table.rows and by_name.target_size == len(_ids(shop, members))
    assert by_name.rows[0]["tgi"] > 100  # carters over-index somewhere: the profile says something


def test_bad_audience_populations_say_what_is_wrong(shop):
    with pytest.raises(InputError) as info:
        population(shop, "audience:", as_of=AS_OF)
    assert "audience:NAME" in str(info.value)
    with pytest.raises(NotFoundError):
        population(shop, "audience:nobody", as_of=AS_OF)
    with pytest.raises(NotFoundError) as nf:
        population(shop, "audience:carters", as_of=dt.date(2017, 11, 30))
    assert "materialize" in str(nf.value)
    with pytest.raises(InputError) as info:
        population(shop, "crowd:1", as_of=AS_OF)
    assert "audience" in str(info.value)
