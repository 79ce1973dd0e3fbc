"""API keys: scopes, hashing, revocation, 401 vs 403, the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import typer
from typer.testing import CliRunner

from qianmian.api import keys
from qianmian.errors import ConflictError, InputError, NotFoundError
from qianmian.store import connect

NOW = dt.datetime(2017, 12, 4, 10)


def test_keys_are_stored_hashed_and_scoped(tmp_path):
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    secret, key = keys.create_key(store, ["read", "ingest"], name="shop", now=NOW)
    assert secret.startswith("qm_" + key.key_id + "_") and len(secret) > 40
    stored = store.execute(store.table("api_keys"))
    assert secret not in stored.to_string() and stored["hash"].tolist() == [keys.hash_key(secret)]
    active = keys.active_hashes(store)
    assert active[keys.hash_key(secret)].scopes == frozenset({"read", "ingest"})
    assert key.allows("read") and key.allows("ingest") and not key.allows("admin")


def test_admin_implies_every_scope_and_revoked_allows_nothing(tmp_path):
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    _, admin = keys.create_key(store, ["admin"], now=NOW)
    assert all(admin.allows(s) for s in keys.SCOPES)
    revoked = keys.revoke_key(store, admin.key_id, now=NOW)
    assert revoked.revoked_at == NOW and not revoked.allows("read")
    assert keys.active_hashes(store) == {}
    with pytest.raises(ConflictError):
        keys.revoke_key(store, admin.key_id, now=NOW)
    with pytest.raises(NotFoundError):
        keys.revoke_key(store, "nope", now=NOW)


@pytest.mark.parametrize("scopes", [[], ["write"], ["read", "root"]])
def test_unknown_scope_is_an_input_error_naming_it(tmp_path, scopes):
    store = connect("duckdb://")
    with pytest.raises(InputError) as info:
        keys.create_key(store, scopes, now=NOW)
    assert info.value.field == "scope"


def _key(client, scopes: list[str]) -> str:
    svc = client.app.state.services
    secret, key = keys.create_key(svc.store, scopes, now=NOW)
    svc.keyring.add(keys.hash_key(secret), key)
    return secret


def test_missing_wrong_and_underscoped_keys(make_client):
    client = make_client(auth=True)
    batch = {"events": []}
    r = client.post("/v1/events", json=batch)
    assert r.status_code == 401 and "missing" in r.json()["error"]["message"]
    r = client.post("/v1/events", json=batch, headers={"Authorization": "Bearer qm_bogus"})
    assert r.status_code == 401 and "unknown or revoked" in r.json()["error"]["message"]
    reader = _key(client, ["read"])
    r = client.post("/v1/events", json=batch, headers={"X-API-Key": reader})
    assert r.status_code == 403 and "'ingest' scope" in r.json()["error"]["message"]
    ingest = _key(client, ["ingest"])
    assert client.post("/v1/events", json=batch, headers={"X-API-Key": ingest}).status_code == 200
    assert client.get("/health").status_code == 200  # liveness needs no key


def test_the_storefront_fast_route_checks_keys_like_every_other(make_client):
    # /v1/storefront is a RequestRoute (no FastAPI dependency solving): its `require("read")` must still run
    client = make_client(auth=True)
    assert client.get("/v1/storefront/u1").status_code == 401
    assert client.get("/v1/storefront/u1", headers={"X-API-Key": _key(client, ["ingest"])}).status_code == 403
    assert client.get("/v1/storefront/u1", headers={"X-API-Key": _key(client, ["read"])}).status_code == 200
    operation = client.get("/openapi.json").json()["paths"]["/v1/storefront/{user_id}"]["get"]
    assert operation["security"] and "read" in json.dumps(operation)


def test_admin_endpoints_create_use_and_revoke(make_client):
    client = make_client(auth=True)
    admin = {"Authorization": f"Bearer {_key(client, ['admin'])}"}
    r = client.post("/v1/keys", json={"scopes": ["ingest"], "name": "pos"}, headers=admin)
    assert r.status_code == 201
    new = r.json()
    ingest = {"X-API-Key": new["key"]}
    assert client.post("/v1/events", json={"events": []}, headers=ingest).status_code == 200
    listed = client.get("/v1/keys", headers=admin).json()
    assert {k["key_id"] for k in listed} >= {new["key_id"]} and all("key" not in k for k in listed)
    assert client.delete(f"/v1/keys/{new['key_id']}", headers=admin).status_code == 200
    assert client.post("/v1/events", json={"events": []}, headers=ingest).status_code == 401
    assert client.post("/v1/keys", json={"scopes": ["root"]}, headers=admin).status_code == 422


def test_cli_create_list_revoke(tmp_path):
    from qianmian.cli import keys as cli_keys

    app = typer.Typer()
    cli_keys.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `keys` a sub-command
    url = f"duckdb:///{tmp_path / 's.duckdb'}"
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "create", "--scope", "ingest", "--scope", "read", "--store", url, "--json"])
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    assert created["key"].startswith("qm_") and created["scopes"] == ["ingest", "read"]
    listed = json.loads(runner.invoke(app, ["keys", "list", "--store", url, "--json"]).stdout)
    assert [k["key_id"] for k in listed] == [created["key_id"]]
    r = runner.invoke(app, ["keys", "revoke", created["key_id"], "--store", url, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["revoked_at"]
    r = runner.invoke(app, ["keys", "create", "--scope", "root", "--store", url])
    assert r.exit_code == 2
