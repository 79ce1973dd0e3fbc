"""Examples for the console on the bundled demo slice: audiences, an experience, an experiment with exposures.

The Taobao slice holds behaviour only, so without this every console page but the overview starts
empty. `console_examples` adds, idempotently:

1. the Nivea template's eight audiences (new customers by product interest, old customers by
   lifecycle state), materialized as of `as_of`;
2. an experience for the first of those audiences that has members, so the shopper view shows a
   page that differs by audience;
3. an **A/A check** experiment, 2:8 test:control, campaign `demo-week`: each shopper with an event
   on or after `exposures_from` gets one exposure at that first event, assigned by the experiment's
   own hash. Both variants saw the same site, so the report should find no difference — a test of
   the pipeline, honestly labelled (`source = "demo-simulated"`), not a result.

`demo_step(store)` runs it with the slice's documented dates (see qianmian/demo/PROVENANCE.md).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from qianmian.store import Store

SLICE_LAST_DAY = dt.date(2017, 12, 3)
"""The last day of the bundled Taobao slice (2017-11-25 … 2017-12-03, Beijing time)."""
SLICE_EXPOSURES_FROM = dt.datetime(2017, 11, 28)
"""Exposures of the demo A/A check start here: four days of history before, six days after."""
EXPERIMENT = "demo-aa-2to8"
CAMPAIGN = "demo-week"
METRICS = ("purchase_conversion", "visitor_conversion", "browse_conversion", "bounce_rate")


def console_examples(store: Store, *, as_of: dt.date, exposures_from: dt.datetime) -> dict[str, Any]:
    """Add the examples (each part only when missing); returns what was added."""
    added = {"audiences": _audiences(store, as_of), "experience": _experience(store, as_of)}
    added["exposures"] = _experiment(store, as_of, exposures_from)
    return added


def demo_step(store: Store, data_dir: Path | None = None) -> dict[str, Any]:
    """`console_examples` for the bundled slice (a `qianmian.demo.STEPS` entry; `data_dir` is unused)."""
    return console_examples(store, as_of=SLICE_LAST_DAY, exposures_from=SLICE_EXPOSURES_FROM)


def _audiences(store: Store, as_of: dt.date) -> int:
    from qianmian.audiences import AudienceRegistry, materialize
    from qianmian.audiences.templates import apply, template

    registry = AudienceRegistry(store)
    created = 0
    if not registry.list():
        at = dt.datetime.combine(as_of, dt.time(23, 59))
        created = len(apply(registry, template("nivea", store, as_of=as_of), at=at))
    materialize(store, as_of)
    return created


def _largest_audience(store: Store, as_of: dt.date) -> str | None:
    m = store.table("audience_members")
    m = m.filter(m.as_of == as_of)
    sizes = store.execute(m.group_by("audience").aggregate(n=m.count()).order_by([ibis.desc("n"), "audience"]).limit(1))
    return None if sizes.empty else str(sizes.audience.iloc[0])


def _experience(store: Store, as_of: dt.date) -> str | None:
    from qianmian.storefront import experiences as xp

    audience = _largest_audience(store, as_of)
    if audience is None or audience in xp.load_all(store):
        return None
    spec = {
        "greeting": "Welcome back, {name}! New in {need} this week.",
        "hero": {"title": "Thanks for shopping with us", "subtitle": "Picks from the categories you like"},
        "modules": ["hero", "greeting", "rails", "coupon"],
        "rails": [{"title": "Back in your favourites", "scene": "home", "k": 10}, {"title": "Trending now", "scene": "popular", "k": 10}],
        "coupon": {"code": "LOYAL20", "title": "20 off over 199 for returning shoppers", "value": 20, "min_spend": 199},
    }
    xp.save(store, xp.parse_experience(audience, spec), now=dt.datetime.combine(as_of, dt.time(23, 59)))
    return audience


def _first_visits(store: Store, as_of: dt.date, start: dt.datetime) -> pd.DataFrame:
    """Each shopper's first event in [start, end of as_of), with their top-priority audience."""
    ev = store.table("events")
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    ev = ev.filter(ev.user_id.notnull(), ev.ts >= ibis.literal(start), ev.ts < ibis.literal(end))
    first = ev.group_by("user_id").aggregate(ts=ev.ts.min())
    m, a = store.table("audience_members"), store.table("audiences")
    m = m.filter(m.as_of == as_of)
    ranked = m.join(a.filter(~a.deleted.fill_null(False)), [m.audience == a.name, m.version == a.version])
    ranked = ranked.mutate(_r=ibis.row_number().over(group_by="user_id", order_by=["priority", "audience"]))
    top = ranked.filter(ranked._r == 0).select("user_id", "audience")
    j = first.left_join(top, "user_id")
    return store.execute(j.select(first.user_id, first.ts, top.audience).order_by("user_id"))


def _experiment(store: Store, as_of: dt.date, start: dt.datetime) -> int:
    from qianmian.experiments import (
        Experiment,
        ExperimentRegistry,
        Variant,
        assign_many,
        buckets,
        log_exposures,
    )

    registry = ExperimentRegistry(store)
    if any(e.name == EXPERIMENT for e in registry.list()):
        return 0
    exp = registry.create(Experiment(EXPERIMENT, (Variant("test", 2), Variant("control", 8)), campaign=CAMPAIGN,
                                     metrics=METRICS, start=start, window_days=7, pre_days=3))
    visits = _first_visits(store, as_of, start)
    ids = visits.user_id.astype(str).to_numpy()
    creative = np.where(buckets("demo-creative", ids) < 0.5, "hero-a", "hero-b")
    pages = [json.dumps({"creative_id": c, "note": "simulated A/A exposure"}) for c in creative]
    frame = pd.DataFrame({
        "exposure_id": [f"{EXPERIMENT}:{u}" for u in ids], "experiment": EXPERIMENT, "variant": assign_many(exp, ids),
        "user_id": ids, "ts": visits.ts, "audience": visits.audience, "page": pages, "source": "demo-simulated",
    })
    return int(log_exposures(store, frame))
