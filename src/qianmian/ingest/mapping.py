"""Mappings: how the columns of a source file become events.

Every layout, built-in or the user's own, is a mapping written in TOML (see docs/data-model.md and
the built-in ones in `layouts/`). A field spec is either a column name or a table:

- ``{ column = "C", optional = true, type = "int"|"float"|"str", abs = true, upper = true, strip_suffix = ".0" }``
- ``{ column = "C", unit = "s"|"ms" }`` (unix time) or ``{ column = "C", format = ["%Y-%m-%d %H:%M:%S", ...] }``
- ``{ product = ["A", "B"], abs = true }`` (A × B, e.g. quantity × price)
- ``{ constant = "buy", when = { column = "C", prefix = "X", value = "return" } }``
- ``{ column = "C", derive = "product_noun" }`` (a category from a product description)

File-level options: ``delimiter = "whitespace"`` (runs of spaces/tabs separate fields, as in CDNOW),
``header = "auto"`` (the first line is a header when all its fields are column names the mapping
knows, else `columns` name the fields), ``identical_rows = "events"`` (identical records are separate
events, e.g. two equal purchases on one day, instead of duplicates).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from qianmian.errors import ConfigError
from qianmian.store import schema
from qianmian.store.staging import Format

LAYOUTS = ("taobao", "online-retail", "retailrocket", "cdnow")
WHITESPACE = "whitespace"
EVENT_FIELDS = tuple(c for c in schema.EVENTS.names if c not in ("source", "properties"))
USER_FIELDS = tuple(schema.USERS.names)
_SPEC_KEYS = {"column", "optional", "type", "abs", "upper", "strip_suffix", "unit", "format", "product", "constant", "when", "derive"}


@dataclass(frozen=True)
class FieldSpec:
    """How one event field is computed from the source columns."""

    column: str | None = None
    optional: bool = False
    type: Literal["str", "int", "float"] = "str"
    abs: bool = False
    upper: bool = False
    strip_suffix: str | None = None
    unit: Literal["s", "ms"] | None = None
    format: tuple[str, ...] = ()
    product: tuple[str, ...] = ()
    constant: str | None = None
    when: tuple[str, str, str] | None = None  # (column, prefix, value)
    derive: Literal["product_noun"] | None = None

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

    def known_names(self) -> set[str]:
        """Every column name the mapping knows: `columns`, aliases and the columns it reads."""
        aliases = {a for alts in self.aliases.values() for a in alts} | set(self.aliases)
        return set(self.columns) | aliases | self.source_columns()

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


def parse_mapping(raw: dict[str, Any], where: str = "mapping") -> Mapping:
    """Check a mapping document and build a `Mapping`; errors name the key and what was expected."""
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ConfigError(f"{where}: [fields] expected a table mapping event fields to columns, received {fields!r}")
    for required in ("behavior", "ts"):
        if required not in fields:
            raise ConfigError(f"{where}: [fields].{required} is required (every event has a behaviour and a time)")
    specs = {name: _field_spec(name, spec, where) for name, spec in fields.items()}
    if "event_id" in specs:
        raise ConfigError(f"{where}: map the source's event id with top-level id_column = \"...\", not [fields].event_id")
    for key in raw.get("users", {}):
        if key not in USER_FIELDS:
            raise ConfigError(f"{where}: [users].{key}: expected one of {', '.join(USER_FIELDS)}")
    fmt = raw.get("format")
    if fmt not in (None, "csv", "jsonl", "parquet"):
        raise ConfigError(f"{where}: format: expected csv, jsonl or parquet, received {fmt!r}")
    header = raw.get("header", True)
    if header not in (True, False, "auto"):
        raise ConfigError(f"{where}: header: expected true, false or \"auto\", received {header!r}")
    identical = raw.get("identical_rows", "duplicates")
    if identical not in ("duplicates", "events"):
        raise ConfigError(f"{where}: identical_rows: expected \"duplicates\" or \"events\", received {identical!r}")
    return Mapping(
        name=str(raw.get("name", where)),
        fields=specs,
        format=fmt,
        header=header,
        identical_rows=identical,
        delimiter=str(raw.get("delimiter", ",")),
        columns=tuple(raw.get("columns", ())),
        aliases={k: tuple(v) for k, v in raw.get("aliases", {}).items()},
        timezone=raw.get("timezone"),
        valid_from=raw.get("valid_from"),
        valid_until=raw.get("valid_until"),
        id=tuple(raw.get("id", ())),
        id_column=raw.get("id_column"),
        values={k: {str(a): str(b) for a, b in v.items()} for k, v in raw.get("values", {}).items()},
        properties=dict(raw.get("properties", {})),
        users=dict(raw.get("users", {})),
    )


def _field_spec(name: str, spec: Any, where: str) -> FieldSpec:
    if name not in EVENT_FIELDS:
        raise ConfigError(f"{where}: [fields].{name}: expected one of {', '.join(EVENT_FIELDS)}")
    if isinstance(spec, str):
        return FieldSpec(column=spec)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: [fields].{name}: expected a column name or a table, received {spec!r}")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ConfigError(f"{where}: [fields].{name}: unknown keys {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}")
    when = spec.get("when")
    if when is not None and not {"column", "prefix", "value"} <= set(when):
        raise ConfigError(f"{where}: [fields].{name}.when: expected column, prefix and value")
    fmt = spec.get("format", ())
    spec = {**spec, "format": (fmt,) if isinstance(fmt, str) else tuple(fmt), "product": tuple(spec.get("product", ()))}
    if when is not None:
        spec["when"] = (when["column"], when["prefix"], when["value"])
    if not (spec.get("column") or spec["product"] or spec.get("constant")):
        raise ConfigError(f"{where}: [fields].{name}: expected one of column, product or constant")
    return FieldSpec(**spec)
