"""API keys: created with scopes, stored hashed in the `api_keys` table, revocable.

A key looks like ``qm_<key_id>_<secret>``; only its SHA-256 is stored, so a key is shown once,
when it is created. Keys are 256-bit random tokens, so a fast hash is enough (there is nothing to
brute-force, unlike a password); lookups compare hashes in constant time.

Scopes: ``ingest`` (send events and shopper input), ``read`` (pages, recommendations, lookups),
``admin`` (configuration, erasure, keys; implies the other two).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

import ibis
import ibis.expr.datatypes as ibt
import pandas as pd

from qianmian.errors import ConflictError, InputError, NotFoundError
from qianmian.store import Store

Scope = Literal["ingest", "read", "admin"]
SCOPES: Final[tuple[str, ...]] = get_args(Scope)
TABLE: Final = "api_keys"
API_KEYS: Final = ibis.schema(
    {
        "key_id": ibt.String(nullable=False),
        "name": ibt.String(),
        "scopes": ibt.String(),  # comma-separated
        "hash": ibt.String(),  # sha256 hex of the whole key
        "created_at": ibt.Timestamp(),
        "revoked_at": ibt.Timestamp(),
    }
)
PREFIX: Final = "qm_"


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret itself)."""

    key_id: str
    name: str
    scopes: frozenset[str]
    created_at: dt.datetime | None
    revoked_at: dt.datetime | None = None

    def allows(self, scope: Scope) -> bool:
        """True when the key has `scope` or `admin` and is not revoked."""
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)

    def to_dict(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def hash_key(key: str) -> str:
    """SHA-256 (hex) of a presented key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """Validate a set of scope names (`InputError` naming the bad one)."""
    chosen = frozenset(s.strip() for s in scopes if s.strip())
    if not chosen:
        raise InputError("scope", f"one or more of {list(SCOPES)}", sorted(chosen))
    bad = sorted(chosen - set(SCOPES))
    if bad:
        raise InputError("scope", f"one of {list(SCOPES)}", bad[0])
    return chosen


def ensure(store: Store) -> ibis.Table:
    return store.ensure_table(TABLE, API_KEYS)


def create_key(store: Store, scopes: Iterable[str], *, name: str = "", now: dt.datetime) -> tuple[str, ApiKey]:
    """Create a key; returns ``(secret, ApiKey)`` — the secret is not stored and cannot be shown again."""
    chosen = check_scopes(scopes)
    ensure(store)
    key_id = secrets.token_hex(6)
    secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    row = {
        "key_id": [key_id],
        "name": [name],
        "scopes": [",".join(sorted(chosen))],
        "hash": [hash_key(secret)],
        "created_at": [pd.Timestamp(now)],
        "revoked_at": [pd.NaT],
    }
    store.append(TABLE, pd.DataFrame(row), dedupe=False)
    return secret, ApiKey(key_id, name, chosen, now)


def _frame(store: Store) -> pd.DataFrame:
    t = ensure(store)
    return store.execute(t.order_by("created_at"))


def _to_key(row: dict) -> ApiKey:
    def ts(v: object) -> dt.datetime | None:
        return None if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()

    return ApiKey(
        key_id=str(row["key_id"]),
        name=str(row["name"] or ""),
        scopes=frozenset(str(row["scopes"] or "").split(",")) - {""},
        created_at=ts(row["created_at"]),
        revoked_at=ts(row["revoked_at"]),
    )


def list_keys(store: Store) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included."""
    frame = _frame(store)
    return [_to_key(r) for r in frame.to_dict("records")]


def active_hashes(store: Store) -> dict[str, ApiKey]:
    """``{sha256: ApiKey}`` for every key that is not revoked (what the server checks against)."""
    t = ensure(store)
    frame = store.execute(t.filter(t.revoked_at.isnull()))
    return {str(r["hash"]): _to_key(r) for r in frame.to_dict("records")}


def revoke_key(store: Store, key_id: str, *, now: dt.datetime) -> ApiKey:
    """Mark a key revoked (the row stays, so `keys list` still shows who had access)."""
    t = ensure(store)
    frame = store.execute(t.filter(t.key_id == key_id))
    if frame.empty:
        raise NotFoundError("api key", key_id)
    if frame["revoked_at"].notna().any():
        raise ConflictError(f"api key {key_id!r} is already revoked")
    frame = frame.assign(revoked_at=pd.Timestamp(now))
    with store.transaction():
        store.delete_where(TABLE, "key_id", [key_id])
        store.append(TABLE, frame, dedupe=False)
    return _to_key(frame.to_dict("records")[0])
