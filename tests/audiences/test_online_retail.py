"""Must show: on Online Retail II, a rule on lifecycle, monetary value and country returns the same members
as a hand-written SQL query, on DuckDB and on Spark."""

from __future__ import annotations

import datetime as dt

from qianmian.audiences import AudienceRegistry, MembershipIndex, materialize
from qianmian.audiences.membership import preview_audience
from qianmian.metrics.lifecycle import LifecycleRules

AS_OF = dt.date(2010, 12, 9)
RULE = 'lifecycle in ("silent", "churning") and monetary(365d) > 1000 and trait("country") = "United Kingdom"'


def hand_written_sql(rules: LifecycleRules = LifecycleRules()) -> str:
    """The same audience written directly in SQL (DuckDB dialect), independent of our code."""
    return f"""
    WITH buyers AS (
        SELECT user_id,
               max(CASE WHEN behavior = 'buy' THEN CAST(ts AS DATE) END) AS last_buy,
               count(DISTINCT CASE WHEN behavior = 'buy' THEN coalesce(order_id, event_id) END) AS orders
        FROM events
        WHERE user_id IS NOT NULL AND ts < TIMESTAMP '2010-12-10 00:00:00' AND behavior IN ('buy', 'return')
        GROUP BY user_id
        HAVING orders > 0
    ), states AS (
        SELECT user_id,
               CASE WHEN DATE '2010-12-09' - last_buy < {rules.active_days} THEN 'active'
                    WHEN DATE '2010-12-09' - last_buy < {rules.silent_days} THEN 'silent'
                    WHEN DATE '2010-12-09' - last_buy < {rules.churning_days} THEN 'churning'
                    ELSE 'lost' END AS state
        FROM buyers
    ), spend AS (
        SELECT user_id,
               sum(CASE behavior WHEN 'buy' THEN coalesce(amount, 0) ELSE -coalesce(amount, 0) END) AS spend_365d
        FROM events
        WHERE user_id IS NOT NULL AND behavior IN ('buy', 'return')
          AND ts >= TIMESTAMP '2010-12-10 00:00:00' - INTERVAL 365 DAY AND ts < TIMESTAMP '2010-12-10 00:00:00'
        GROUP BY user_id
    )
    SELECT s.user_id
    FROM states s JOIN spend p ON p.user_id = s.user_id JOIN users u ON u.user_id = s.user_id
    WHERE s.state IN ('silent', 'churning') AND p.spend_365d > 1000 AND u.country = 'United Kingdom'
      AND coalesce(u.consent, true)
    """


def test_rule_equals_hand_written_sql_on_each_engine(store, retail, copy_into) -> None:
    expected = set(retail.con.sql(hand_written_sql()).to_pandas().user_id)  # run by DuckDB itself
    assert len(expected) > 100
    copy_into(store, retail)
    registry = AudienceRegistry(store)
    registry.create("lapsed_uk_high_value", RULE, priority=1, at=dt.datetime(2010, 12, 10))
    result = materialize(store, AS_OF)
    members = store.table("audience_members")
    got = set(store.execute(members.filter(members.audience == "lapsed_uk_high_value")).user_id)
    assert got == expected
    assert result.counts == {"lapsed_uk_high_value": len(expected)}
    preview = preview_audience(registry, "lapsed_uk_high_value", as_of=AS_OF, sample=5)
    assert preview.size == len(expected) and set(preview.sample) <= expected
    assert preview.total == 4383  # every customer id in the file; none opted out
    index = MembershipIndex.load(store, as_of=AS_OF)
    some = sorted(expected)[0]
    assert index.audiences_of(some) == ["lapsed_uk_high_value"] and index.primary(some) == "lapsed_uk_high_value"
