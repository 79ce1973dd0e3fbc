"""`DELETE /v1/users/{id}` leaves no row or vector of the shopper anywhere.

Real Taobao rows (the 10k-line tail), audiences materialized, models trained, a page served
(exposure), self-tags, consent, live events in the write-ahead log — then the erasure, then a
search of every table, every model file and every log segment.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

AS_OF = dt.date(2017, 12, 3)
CLOCK = dt.datetime(2017, 12, 3, 21, 0)


def _wal_user_ids(wal_dir) -> set[str]:
    from qianmian.api.wal import decode

    found = set()
    for seg in wal_dir.glob("seg-*.wal"):
        for line in seg.read_bytes().splitlines(keepends=True):
            rec = decode(line)
            found |= {str(r.get("user_id")) for r in rec.rows} if rec else set()
    return found


def _model_traces(models_dir, user_id: str) -> list[str]:
    """Every place in the bundles that still names the shopper or holds a vector for their row."""
    from qianmian.recommend.bundle import load_bundle

    traces = []
    for version in sorted(p for p in models_dir.iterdir() if (p / "manifest.json").is_file()):
        for npz in version.glob("*.npz"):
            with np.load(npz, allow_pickle=False) as z:
                traces += [f"{npz.name}:{k}" for k in z.files if z[k].dtype.kind == "U" and user_id in set(z[k].tolist())]
        bundle = load_bundle(version)
        tomb = [i for i, u in enumerate(bundle.users.ids) if str(u).startswith("\x00erased:")]
        for row in tomb:
            traces += [f"{version.name}:{k} row" for k, m in bundle.matrices.items() if m.shape[0] == len(bundle.users) and m[row].nnz]
            traces += [f"{version.name}:strongest row"] if bundle.strongest[row].nnz else []
            traces += [f"{version.name}:{n}.user_factors" for n, m in bundle.models.items() if getattr(m, "user_factors", None) is not None and np.any(m.user_factors[row])]
    return traces


@pytest.mark.slow
def test_erase_leaves_nothing_anywhere(shared_data, tmp_path):
    from fastapi.testclient import TestClient

    from qianmian.api import create_app
    from qianmian.audiences.membership import materialize
    from qianmian.audiences.registry import AudienceRegistry
    from qianmian.config import Settings, store_models_dir
    from qianmian.ingest import ingest_file
    from qianmian.recommend import train
    from qianmian.recommend.train import DEFAULT_MODELS, ModelSpec, recency
    from qianmian.store import connect
    from qianmian.storefront.privacy import remaining

    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    ingest_file(store, shared_data / "taobao_userbehavior" / "ub_tail_10k.csv", layout="taobao")
    ev = store.table("events")
    counts = store.execute(ev.group_by("user_id").aggregate(n=ev.count()).order_by([ev.count().desc(), "user_id"]))
    user, other = counts.user_id[0], counts.user_id[1]
    AudienceRegistry(store).create("browsers", "count(view, 30d) >= 1", at=CLOCK)
    materialize(store, AS_OF)
    by_name = {m.name: m for m in DEFAULT_MODELS}
    models = [by_name[n] for n in ("popular", "trending", "covisit", "cart")] + [ModelSpec("home", "als", {"factors": 16}, recency(120.0))]
    models_dir = store_models_dir(tmp_path / "data", store.id)  # where the API looks for this store's models
    train(store, as_of=AS_OF, models_dir=models_dir, models=models, holdout_days=None)
    train(store, as_of=AS_OF, models_dir=models_dir, models=models, holdout_days=None)  # two versions on disk

    app = create_app(Settings(store="duckdb://unused", data_dir=tmp_path / "data", writer_interval_seconds=0.02), store=store, clock=lambda: CLOCK)
    with TestClient(app) as client:
        svc = app.state.services
        client.post("/v1/events", json={"events": [{"event_id": "live-1", "user_id": user, "item_id": "1", "behavior": "view", "ts": CLOCK.isoformat()}]})
        client.put(f"/v1/users/{user}/tags", json={"tags": ["vegan"]})
        client.put(f"/v1/users/{user}/consent", json={"consent": True})
        client.get(f"/v1/storefront/{user}")
        client.get(f"/v1/storefront/{other}")
        assert svc.log.drain(30)
        assert user in _wal_user_ids(tmp_path / "data" / "wal")
        assert not _model_traces(models_dir, "__nobody__") and _model_traces(models_dir, user)
        held = {t: n for t, n in svc.locked(remaining, store, user).items() if n}
        assert {"events", "audience_members", "exposures", "user_tags", "users"} <= set(held)

        r = client.delete(f"/v1/users/{user}")
        assert r.status_code == 200
        report = r.json()
        assert report["erased"]["events"] == held["events"] and report["erased"]["exposures"] == held["exposures"]
        assert report["models"]["bundles_scrubbed"] == ["v0001", "v0002"] and report["write_ahead_log"] == "purged"

        assert set(svc.locked(remaining, store, user).values()) == {0}
        assert _model_traces(models_dir, user) == []
        assert user not in _wal_user_ids(tmp_path / "data" / "wal")
        sf = svc.storefront
        assert sf.snapshot.membership.audiences_of(user) == [] and svc.tags.tags_of(user) == [] and sf.live.recent(user) == []
        assert sf.products.serving.bundle.users.get(user) is None
        # everyone else is untouched
        assert svc.locked(remaining, store, other)["events"] > 0 and sf.products.serving.bundle.users.get(other) is not None
        assert client.get(f"/v1/recommendations/{other}").status_code == 200
    assert json.dumps(report)  # the report is plain JSON
