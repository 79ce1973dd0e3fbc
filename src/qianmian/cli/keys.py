"""`qianmian keys create|list|revoke`: API keys for the HTTP API (stored hashed in the store).

With a DuckDB store, stop the server first (one process may write the file at a time) or use
the admin endpoints `POST/GET/DELETE /v1/keys` of the running server.
"""

from __future__ import annotations

import datetime as dt

import typer

from qianmian.cli.common import (
    JsonOption,
    StoreOption,
    console,
    errors_to_exit,
    open_store,
    print_json,
    print_table,
)

keys_app = typer.Typer(help="API keys with scopes (ingest, read, admin).", no_args_is_help=True)


@keys_app.command("create")
def create(
    scope: list[str] = typer.Option(..., "--scope", help="ingest, read or admin (repeat for several)"),
    name: str = typer.Option("", "--name", help="Who or what the key is for"),
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from qianmian.api import keys

    with errors_to_exit():
        s = open_store(store)
        scopes = [part for item in scope for part in item.split(",")]
        secret, key = keys.create_key(s, scopes, name=name, now=dt.datetime.now())
    if as_json:
        print_json({"key": secret, **key.to_dict()})
        return
    console.print(f"key id [bold]{key.key_id}[/bold], scopes {', '.join(sorted(key.scopes))}")
    console.print("Store this key now; it cannot be shown again:")
    typer.echo(secret)


@keys_app.command("list")
def list_keys(store: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """Every key: id, name, scopes, created, revoked (never the secrets)."""
    from qianmian.api import keys

    with errors_to_exit():
        rows = [k.to_dict() for k in keys.list_keys(open_store(store))]
    if as_json:
        print_json(rows)
        return
    print_table("API keys", [{**r, "scopes": ",".join(r["scopes"])} for r in rows])


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id shown by `keys list`"), store: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    from qianmian.api import keys

    with errors_to_exit():
        key = keys.revoke_key(open_store(store), key_id, now=dt.datetime.now())
    if as_json:
        print_json(key.to_dict())
        return
    console.print(f"revoked key {key.key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
