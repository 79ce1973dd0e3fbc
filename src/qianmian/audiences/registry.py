"""Saved audiences: named, versioned rules with a priority, kept in the `audiences` table.

The table is an append-only log: creating or replacing an audience appends version n+1; deleting
appends a row with `deleted = true`. The current audience is the latest version of its name when
that version is not deleted. A rule is checked before anything is written, so a bad rule changes
nothing. Priority: a smaller number comes first (1 = highest); a consumer in several audiences gets
the experience of the first one (ties → name order).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import pandas as pd

from qianmian.audiences.rules import check, expand, parse, to_sentence
from qianmian.audiences.rules import tree as T
from qianmian.errors import ConflictError, InputError, NotFoundError
from qianmian.store import Store

AUDIENCES = ibis.schema(
    {
        "name": dtypes.String(nullable=False),
        "rule": dtypes.string,
        "version": dtypes.Int64(nullable=False),
        "priority": dtypes.int64,
        "description": dtypes.string,
        "created_at": dtypes.timestamp,
        "deleted": dtypes.boolean,
    }
)
AUDIENCE_MEMBERS = ibis.schema(
    {"audience": dtypes.String(nullable=False), "version": dtypes.int64, "as_of": dtypes.date, "user_id": dtypes.String(nullable=False)}
)
NAME_PATTERN = re.compile(r"[^\W_][\w-]{0,63}")
DEFAULT_PRIORITY = 100


@dataclass(frozen=True)
class Audience:
    """One version of a saved audience."""

    name: str
    rule: str
    version: int
    priority: int
    description: str
    created_at: dt.datetime

    @property
    def tree(self) -> T.Expr:
        return parse(self.rule)

    def sentence(self) -> str:
        return to_sentence(self.tree)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sentence": self.sentence()}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError("audience name", "1-64 letters, digits, '_' or '-', starting with a letter or digit", name)
    return name


class AudienceRegistry:
    """Create, list, get, preview and delete audiences in a store.

    >>> reg = AudienceRegistry(store)
    >>> reg.create("lapsed_vip", 'lifecycle in ("silent", "churning") and monetary(365d) > 500', priority=10)
    ... # doctest: +SKIP
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_table("audiences", AUDIENCES)
        store.ensure_table("audience_members", AUDIENCE_MEMBERS)

    # -- reading -----------------------------------------------------------------------------------
    def _log(self) -> pd.DataFrame:
        frame = self.store.execute(self.store.table("audiences"))
        return frame.sort_values(["name", "version"], kind="stable")

    def _current(self) -> pd.DataFrame:
        latest = self._log().drop_duplicates("name", keep="last")
        return latest[~latest.deleted.fillna(False).astype(bool)]

    def list(self) -> list[Audience]:
        """Current audiences, by priority then name."""
        frame = self._current().sort_values(["priority", "name"], kind="stable")
        return [_audience(row) for row in frame.to_dict("records")]

    def get(self, name: str, *, version: int | None = None) -> Audience:
        """The current audience `name` (or one of its earlier versions)."""
        log = self._log()
        rows = log[log.name == name]
        if version is not None:
            rows = rows[rows.version == version]
        if rows.empty or bool(rows.iloc[-1].deleted):
            raise NotFoundError("audience", name if version is None else f"{name} v{version}")
        return _audience(rows.iloc[-1].to_dict())

    def history(self, name: str) -> list[Audience]:
        """Every saved version of `name`, oldest first (deleted markers excluded)."""
        log = self._log()
        rows = log[(log.name == name) & ~log.deleted.fillna(False).astype(bool)]
        return [_audience(r) for r in rows.to_dict("records")]

    def exists(self, name: str) -> bool:
        return name in set(self._current().name)

    def resolve(self, name: str) -> T.Expr:
        """The checked rule tree of the current audience `name` (used by `in_audience`)."""
        return self.get(name).tree

    # -- writing -----------------------------------------------------------------------------------
    def create(
        self,
        name: str,
        rule: str,
        *,
        priority: int = DEFAULT_PRIORITY,
        description: str = "",
        replace: bool = False,
        at: dt.datetime | None = None,
    ) -> Audience:
        """Save `rule` as audience `name` (a new version when `replace`); the rule is checked first."""
        check_name(name)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise InputError("priority", "a whole number (smaller = first)", priority)
        current = self._current()
        if name in set(current.name) and not replace:
            raise ConflictError(f"audience {name!r} already exists; pass replace=True to save a new version")
        tree = check(rule, audience_exists=lambda other: other != name and other in set(current.name))
        expand(tree, lambda other: tree if other == name else self.resolve(other), within=(name,))  # no cycles
        return self._write(name, rule, self._next_version(name), priority, description, at, deleted=False)

    def delete(self, name: str, *, at: dt.datetime | None = None) -> Audience:
        """Delete `name` (its history stays); refused while another audience refers to it."""
        audience = self.get(name)
        users = [a.name for a in self.list() if _refers_to(a.tree, name) and a.name != name]
        if users:
            raise ConflictError(f"audience {name!r} is used by in_audience() in {', '.join(users)}")
        self._write(name, audience.rule, audience.version + 1, audience.priority, audience.description, at, deleted=True)
        return audience

    def _next_version(self, name: str) -> int:
        log = self._log()
        versions = log.version[log.name == name]
        return int(versions.max()) + 1 if len(versions) else 1

    def _write(
        self, name: str, rule: str, version: int, priority: int, description: str, at: dt.datetime | None, *, deleted: bool
    ) -> Audience:
        created = (at or dt.datetime.now()).replace(tzinfo=None, microsecond=0)
        row = {
            "name": [name], "rule": [rule], "version": [version], "priority": [priority],
            "description": [description or ""], "created_at": [created], "deleted": [deleted],
        }
        self.store.append("audiences", pd.DataFrame(row), dedupe=False)
        return Audience(name, rule, version, priority, description or "", created)


def _refers_to(tree: T.Expr, name: str) -> bool:
    return any(
        isinstance(n, T.Call) and n.name == "in_audience" and n.args[0] == T.Str(name) for n in T.walk(tree)
    )


def _audience(row: dict[str, Any]) -> Audience:
    created = row.get("created_at")
    return Audience(
        name=str(row["name"]), rule=str(row["rule"]), version=int(row["version"]),
        priority=int(row["priority"]) if pd.notna(row["priority"]) else DEFAULT_PRIORITY,
        description=str(row.get("description") or ""),
        created_at=pd.Timestamp(created).to_pydatetime() if pd.notna(created) else None,  # type: ignore[arg-type]
    )
