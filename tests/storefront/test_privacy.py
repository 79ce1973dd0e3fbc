"""Consent and erasure in the store, on each engine."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from qianmian.consumers.consent import set_consent
from qianmian.store.rollup import refresh_rollup
from qianmian.storefront.privacy import erase_user, remaining

NOW = dt.datetime(2017, 12, 4, 10)


def _fill(store) -> None:
    store.append("events", pd.DataFrame({"event_id": ["a", "b", "c"], "user_id": ["u1", "u1", "u2"], "behavior": "view", "ts": pd.Timestamp("2017-12-01")}))
    store.append("users", pd.DataFrame({"user_id": ["u1", "u2"], "name": ["Li", "Wang"], "city": ["Shanghai", "Beijing"]}))
    store.append("user_tags", pd.DataFrame({"user_id": ["u1"], "tag": ["vegan"], "active": [True], "source": ["self"], "ts": [pd.Timestamp(NOW)]}), dedupe=False)
    store.append("exposures", pd.DataFrame({"exposure_id": ["x1", "x2"], "user_id": ["u1", "u2"], "ts": pd.Timestamp(NOW), "page": "{}"}))
    store.ensure_table("features_demo", ibis.schema({"user_id": "string", "score": "float64"}))
    store.append("features_demo", pd.DataFrame({"user_id": ["u1", "u2"], "score": [1.0, 2.0]}), dedupe=False)
    store.ensure_table("units_demo", ibis.schema({"unit_id": "string", "variant": "string"}))
    store.append("units_demo", pd.DataFrame({"unit_id": ["u1"], "variant": ["test"]}), dedupe=False)


@pytest.mark.cluster  # erasure on the sc engine too (the rewrite stays on the cluster)
def test_erase_removes_the_user_from_every_table_and_only_them(store):
    _fill(store)
    refresh_rollup(store)  # the daily rollup holds a row per shopper and day: erased too
    erased = erase_user(store, "u1")
    assert erased == {"consumer_days": 1, "events": 2, "exposures": 1, "features_demo": 1, "units_demo": 1, "user_tags": 1, "users": 1}
    assert set(remaining(store, "u1").values()) == {0}
    assert remaining(store, "u2") == {"consumer_days": 1, "events": 1, "exposures": 1, "features_demo": 1, "units_demo": 0,
                                      "user_tags": 0, "users": 1}


def test_consent_keeps_the_rest_of_the_row_and_creates_missing_users(store):
    _fill(store)
    set_consent(store, "u1", False, now=NOW)
    set_consent(store, "u9", False, now=NOW)
    users = store.execute(store.table("users").order_by("user_id")).set_index("user_id")
    assert users.loc["u1", "name"] == "Li" and not users.loc["u1", "consent"] and users.loc["u9", "consent"] == False  # noqa: E712
    assert pd.isna(users.loc["u2", "consent"])
    set_consent(store, "u1", True, now=NOW)
    assert bool(store.execute(store.table("users").filter(ibis._.user_id == "u1").consent.max()))
