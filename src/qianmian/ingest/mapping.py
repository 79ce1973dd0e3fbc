"""Mappings: how the columns of a source file become events.

Every layout, built-in or the user's own, is a mapping written in TOML (see docs/data-model.md and
the built-in ones in `layouts/`). A field spec is either a column name or a table:

- ``{ column = "C", optional = true, type = "int"|"float"|"str", abs = true, upper = true, strip_suffix = ".0",
  null_values = ["NA"] }``
- ``{ column = "C", unit = "s"|"ms" }`` (unix time) or ``{ column = "C", format = ["%Y-%m-%d %H:%M:%S", ...] }``
- ``{ product = ["A", "B"], abs = ["A"] }`` (A × B, e.g. quantity × price; A's sign dropped, B must be >= 0;
  ``abs = true`` drops every factor's sign)
- ``{ constant = "buy", when = { column = "C", prefix = "X", value = "return" } }``
- ``{ column = "C", derive = "product_noun" }`` (a category from a product description)

``[non_products]`` with ``item_id = [...]`` and/or ``item_id_prefix = [...]``: items that are not
goods (postage, fees…); their events get category "non-product" (`qianmian.ingest.kinds`).

File-level options: ``delimiter = "whitespace"`` (runs of spaces/tabs separate fields, as in CDNOW),
``header = "auto"`` (the first line is a header when all its fields are column names the mapping
knows, else `columns` name the fields), ``identical_rows = "events"`` (identical records are separate
events, e.g. two equal purchases on one day, instead of duplicates).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from qianmian.errors import ConfigError
from qianmian.ingest.kinds import NonProducts, parse_non_products
from qianmian.store import schema
from qianmian.store.staging import Format


def _layouts() -> tuple[str, ...]:
    """Every built-in layout: one TOML file each in `layouts/` (adding a layout is adding a file)."""
    folder = resources.files("qianmian.ingest").joinpath("layouts")
    first = ("taobao", "online-retail", "retailrocket")  # the order the docs and messages list them in
    found = sorted(f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml"))
    return tuple(x for x in first if x in found) + tuple(x for x in found if x not in first)


LAYOUTS = _layouts()
WHITESPACE = "whitespace"
Target = Literal["events", "items", "users", "stores"]
TARGETS: dict[str, ibis.Schema] = {"events": schema.EVENTS, "items": schema.ITEMS, "users": schema.USERS, "stores": schema.STORES}
KEY_OF = {"events": "event_id", "items": "item_id", "users": "user_id", "stores": "store_id"}
_NOT_MAPPED = {"events": ("source", "properties", "event_id"), "items": ("attributes",), "users": ("traits",), "stores": ()}
EVENT_FIELDS = tuple(c for c in schema.EVENTS.names if c not in _NOT_MAPPED["events"])
USER_FIELDS = tuple(schema.USERS.names)
_SPEC_KEYS = {"column", "optional", "type", "abs", "upper", "strip_suffix", "unit", "format", "product", "constant", "when",
              "derive", "null_values"}
TOP_KEYS = ("name", "target", "format", "header", "delimiter", "identical_rows", "columns", "multiline", "aliases", "timezone", "valid_from",
            "valid_until", "id", "id_column", "null_values", "fields", "values", "properties", "users", "non_products")


@dataclass(frozen=True)
class FieldSpec:
    """How one event field is computed from the source columns."""

    column: str | None = None
    optional: bool = False
    type: Literal["str", "int", "float"] = "str"
    abs: bool | tuple[str, ...] = False
    upper: bool = False
    strip_suffix: str | None = None
    unit: Literal["s", "ms"] | None = None
    format: tuple[str, ...] = ()
    product: tuple[str, ...] = ()
    constant: str | None = None
    when: tuple[str, str, str] | None = None  # (column, prefix, value)
    derive: Literal["product_noun"] | None = None
    null_values: tuple[str, ...] = ()

    def columns(self) -> set[str]:
        cols = {c for c in (self.column,) if c} | set(self.product)
        return cols | ({self.when[0]} if self.when else set())


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked mapping file."""

    name: str
    fields: dict[str, FieldSpec]
    format: Format | None = None
    header: bool | Literal["auto"] = True
    delimiter: str = ","
    identical_rows: Literal["duplicates", "events"] = "duplicates"
    columns: tuple[str, ...] = ()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    timezone: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    id: tuple[str, ...] = ()
    id_column: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    target: Target = "events"
    null_values: tuple[str, ...] = ()
    multiline: bool = False
    store_timezone: str = "Asia/Shanghai"  # set by the pipeline: the store's business zone
    range_label: str = "the dataset's valid range"  # set by the pipeline when the store's range applies
    non_products: NonProducts | None = None

    def known_names(self) -> set[str]:
        """Every column name the mapping knows: `columns`, aliases and the columns it reads."""
        aliases = {a for alts in self.aliases.values() for a in alts} | set(self.aliases)
        return set(self.columns) | aliases | self.source_columns()

    def column_type(self, name: str) -> dt.DataType:
        """The target table's type for field `name` (the events' `ts` is a timestamp, `price` a float …)."""
        return TARGETS[self.target][name]

    def with_store(self, *, timezone: str, plausible: tuple[str, str]) -> Mapping:
        """This mapping as one ingest applies it: text times converted to the store's `timezone`, and
        the store's plausible time range where the mapping sets none of its own."""
        if self.valid_from or self.valid_until:
            return replace(self, store_timezone=timezone)
        return replace(self, store_timezone=timezone, valid_from=plausible[0], valid_until=plausible[1],
                       range_label="the store's plausible range")

    def source_columns(self) -> set[str]:
        cols = set().union(*(s.columns() for s in self.fields.values()))
        return cols | set(self.properties.values()) | set(self.users.values()) | set(self.id) | (
            {self.id_column} if self.id_column else set()
        )


def load_mapping(layout: str | None = None, path: str | Path | None = None) -> Mapping:
    """The built-in `layout` ("taobao", "online-retail", "retailrocket") or the mapping file at `path`."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"mapping: expected an existing TOML file, received {str(p)!r}")
        text, where = p.read_text(encoding="utf-8"), str(p)
    elif layout in LAYOUTS:
        text = resources.files("qianmian.ingest").joinpath(f"layouts/{layout}.toml").read_text(encoding="utf-8")
        where = f"layout {layout}"
    else:
        raise ConfigError(f"layout: expected one of {', '.join(LAYOUTS)} or a mapping file, received {layout!r}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"mapping {where}: invalid TOML ({exc})") from exc
    return parse_mapping(raw, where)


def _refuse_unknown(where: str, got: Any, known: tuple[str, ...] | set[str]) -> None:
    if not isinstance(got, dict):
        raise ConfigError(f"{where}: expected a table, received {got!r}")
    unknown = sorted(set(got) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known keys: {', '.join(sorted(known))}")


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, received {value!r}")
    return tuple(value)


def parse_mapping(raw: dict[str, Any], where: str = "mapping") -> Mapping:
    """Check a mapping document and build a `Mapping`; errors name the key and what was expected.

    Unknown keys are refused at every level, with the list of the known ones."""
    _refuse_unknown(where, raw, TOP_KEYS)
    target = raw.get("target", "events")
    if target not in TARGETS:
        raise ConfigError(f"{where}: target: expected one of {', '.join(TARGETS)}, received {target!r}")
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ConfigError(f"{where}: [fields] expected a table mapping {target} fields to columns, received {fields!r}")
    if "event_id" in fields and target == "events":
        raise ConfigError(f"{where}: map the source's event id with top-level id_column = \"...\", not [fields].event_id")
    required = ("behavior", "ts") if target == "events" else (KEY_OF[target],)
    for name in required:
        if name not in fields:
            why = "every event has a behaviour and a time" if target == "events" else f"every row of {target} has one"
            raise ConfigError(f"{where}: [fields].{name} is required ({why})")
    known = tuple(c for c in TARGETS[target].names if c not in _NOT_MAPPED[target])
    specs = {name: _field_spec(name, spec, where, known) for name, spec in fields.items()}
    for section, keys in (("users", USER_FIELDS), ("aliases", None), ("properties", None)):
        body = raw.get(section, {})
        if keys is not None:
            _refuse_unknown(f"{where}: [{section}]", body, keys)
        elif not isinstance(body, dict):
            raise ConfigError(f"{where}: [{section}] expected a table, received {body!r}")
    if raw.get("users") and target != "events":
        raise ConfigError(f"{where}: [users] is for event files; load a user table with target = \"users\"")
    values = raw.get("values", {})
    _refuse_unknown(f"{where}: [values]", values, tuple(specs))
    fmt = raw.get("format")
    if fmt not in (None, "csv", "jsonl", "parquet"):
        raise ConfigError(f"{where}: format: expected csv, jsonl or parquet, received {fmt!r}")
    header = raw.get("header", True)
    if header not in (True, False, "auto"):
        raise ConfigError(f"{where}: header: expected true, false or \"auto\", received {header!r}")
    identical = raw.get("identical_rows", "duplicates")
    if identical not in ("duplicates", "events"):
        raise ConfigError(f"{where}: identical_rows: expected \"duplicates\" or \"events\", received {identical!r}")
    tz = raw.get("timezone")
    if tz is not None:
        _check_zone(where, tz)
    for key in ("valid_from", "valid_until"):
        if raw.get(key) is not None:
            _check_time(where, key, raw[key])
    return Mapping(
        name=str(raw.get("name", where)),
        fields=specs,
        format=fmt,
        header=header,
        identical_rows=identical,
        delimiter=str(raw.get("delimiter", ",")),
        columns=tuple(raw.get("columns", ())),
        aliases={k: _strings(f"{where}: [aliases].{k}", v) for k, v in raw.get("aliases", {}).items()},
        timezone=tz,
        valid_from=raw.get("valid_from"),
        valid_until=raw.get("valid_until"),
        id=tuple(raw.get("id", ())),
        id_column=raw.get("id_column"),
        values={k: {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
        properties=dict(raw.get("properties", {})),
        users=dict(raw.get("users", {})),
        target=target,
        null_values=_strings(f"{where}: null_values", raw.get("null_values", [])),
        multiline=bool(raw.get("multiline", False)),
        non_products=parse_non_products(raw.get("non_products"), where),
    )


def _check_zone(where: str, tz: Any) -> None:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(str(tz))
    except Exception as exc:
        raise ConfigError(f"{where}: timezone: expected an IANA zone such as 'UTC' or 'Europe/London', received {tz!r}") from exc


def _check_time(where: str, key: str, value: Any) -> None:
    import datetime as _dt

    try:
        _dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {key}: expected a time like 2024-01-01 00:00:00, received {value!r}") from exc


def _field_spec(name: str, spec: Any, where: str, known: tuple[str, ...] = EVENT_FIELDS) -> FieldSpec:
    if name not in known:
        raise ConfigError(f"{where}: [fields].{name}: unknown field; known fields: {', '.join(known)}")
    if isinstance(spec, str):
        return FieldSpec(column=spec)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: [fields].{name}: expected a column name or a table, received {spec!r}")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ConfigError(f"{where}: [fields].{name}: unknown keys {sorted(unknown)}; known keys: {', '.join(sorted(_SPEC_KEYS))}")
    when = spec.get("when")
    if when is not None:
        _refuse_unknown(f"{where}: [fields].{name}.when", when, ("column", "prefix", "value"))
        if not {"column", "prefix", "value"} <= set(when):
            raise ConfigError(f"{where}: [fields].{name}.when: expected column, prefix and value")
    fmt = spec.get("format", ())
    spec = {**spec, "format": (fmt,) if isinstance(fmt, str) else tuple(fmt), "product": tuple(spec.get("product", ()))}
    if "null_values" in spec:
        spec["null_values"] = _strings(f"{where}: [fields].{name}.null_values", spec["null_values"])
    if isinstance(spec.get("abs"), list):
        spec["abs"] = _strings(f"{where}: [fields].{name}.abs", spec["abs"])
    if when is not None:
        spec["when"] = (when["column"], when["prefix"], when["value"])
    if not (spec.get("column") or spec["product"] or spec.get("constant")):
        raise ConfigError(f"{where}: [fields].{name}: expected one of column, product or constant")
    return FieldSpec(**spec)
