"""From scanned source columns to typed, validated events — as one Ibis expression.

`source_types(mapping)` says how the scanner should type each source column (so the parser itself
rejects a non-number in a numeric column, naming the column); `checked(raw, mapping)` maps the
columns to event fields and adds `_reason`: NULL for a good row, else a sentence naming the field,
what was expected and what was received (the first failing field wins), and `_raw` for bad rows.
It runs on the DuckDB staging engine (built-in functions below are DuckDB's).
"""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt

from qianmian.ingest.mapping import FieldSpec, Mapping
from qianmian.store import schema

# Words that describe a product rather than name it (colours, patterns, sizes, materials, themes);
# the product noun is the last remaining word. See docs/data-model.md.
STOP_WORDS = (
    "RED", "PINK", "BLUE", "GREEN", "WHITE", "BLACK", "IVORY", "CREAM", "GOLD", "SILVER", "PURPLE", "YELLOW",
    "ORANGE", "BROWN", "GREY", "GRAY", "COLOUR", "ASSORTED", "RETROSPOT", "POLKADOT", "SPOTTY",
    "VINTAGE", "DESIGN", "SMALL", "LARGE", "MEDIUM", "MINI", "JUMBO", "BIG", "SET", "PACK",
    "OF", "AND", "THE", "WITH", "FOR", "IN", "ON", "TO", "BOX", "PCS", "PIECE", "WOOD", "WOODEN",
    "METAL", "GLASS", "PAPER", "FELT", "CERAMIC", "ENAMEL", "ZINC", "TIN", "HEART", "FLOWER",
    "FLORAL", "CHRISTMAS", "STAR", "SPOT", "STRIPE", "LOVE", "HANGING", "DECORATION", "PAISLEY", "SPACEBOY",
    "SUKI", "SKULL", "WOODLAND", "DOLLY", "GIRL", "REGENCY", "BIRD", "SWEETHEART", "PANTRY", "PARTY",
    "RETRO", "ENGLISH", "FRENCH", "CHARLOTTE", "ORIENTAL", "ANTIQUE", "VICTORIAN", "LUNCH", "BABUSHKA",
)
NULL_TEXT = ibis.null(dt.string)


@ibis.udf.scalar.builtin
def md5(s: str) -> str: ...


@ibis.udf.scalar.builtin
def try_strptime(s: str, fmt: str) -> dt.timestamp: ...


@ibis.udf.scalar.builtin
def make_timestamp(micros: dt.int64) -> dt.timestamp: ...


@ibis.udf.scalar.builtin
def json_extract_string(s: str, path: str) -> str: ...


@ibis.udf.scalar.builtin
def json_valid(s: str) -> bool: ...


def source_types(m: Mapping, columns: list[str]) -> dict[str, str]:
    """DuckDB type per source column: numbers where the mapping reads numbers, else text."""
    numeric = {}
    for spec in m.fields.values():
        if spec.unit and spec.column:
            numeric[spec.column] = "DOUBLE"
        elif spec.type == "int" and spec.column:
            numeric[spec.column] = "BIGINT"
        for c in spec.product:
            numeric.setdefault(c, "DOUBLE")
    return {c: numeric.get(c, "VARCHAR") for c in columns}


def _is_text(v: ibis.Value) -> bool:
    return v.type().is_string()


def as_text(v: ibis.Value) -> ibis.Value:
    """A scanned value as the text it was in the file (whole numbers without a trailing .0)."""
    if _is_text(v):
        return v
    if v.type().is_floating():
        return ibis.ifelse(v == v.floor(), v.cast(dt.int64).cast(dt.string), v.cast(dt.string))
    return v.cast(dt.string)


def _said(raw: ibis.Table, col: str) -> ibis.Value:
    return ibis.literal(f' in column "{col}", received "') + as_text(raw[col]).fill_null("") + '"'


def _text(raw: ibis.Table, spec: FieldSpec, col: str) -> ibis.Value:
    v = raw[col]
    if not _is_text(v):
        return as_text(v)
    v = v.strip()
    if spec.strip_suffix:
        v = ibis.ifelse(v.endswith(spec.strip_suffix), v.left(v.length() - len(spec.strip_suffix)), v)
    v = v.upper() if spec.upper else v
    return v.nullif("")


def _number(raw: ibis.Table, col: str, typ: dt.DataType) -> ibis.Value:
    v = raw[col]
    return v.strip().try_cast(typ) if _is_text(v) else v.cast(typ)


def _value(raw: ibis.Table, name: str, spec: FieldSpec, m: Mapping) -> tuple[ibis.Value, ibis.Value]:
    """(typed value, reason or NULL) for event field `name`."""
    if spec.constant is not None:
        return _constant(raw, spec), NULL_TEXT
    if spec.product:
        return _product(raw, name, spec)
    col = spec.column
    assert col is not None
    if name == "ts":
        return _timestamp(raw, spec, m)
    if name == "behavior":
        return _behavior(raw, _text(raw, spec, col), m, col)
    if spec.type in ("int", "float") or name in ("quantity", "amount"):
        return _numeric_field(raw, name, spec, col)
    text = _text(raw, spec, col)
    if spec.derive == "product_noun":
        text = product_noun(text)
    empty = ibis.literal(f"{name}: expected a non-empty value") + _said(raw, col)
    return text, (NULL_TEXT if spec.optional else ibis.ifelse(text.isnull(), empty, NULL_TEXT))


def _constant(raw: ibis.Table, spec: FieldSpec) -> ibis.Value:
    value = ibis.literal(spec.constant)
    if spec.when:
        col, prefix, alt = spec.when
        value = ibis.ifelse(raw[col].strip().startswith(prefix), ibis.literal(alt), value)
    return value


def _numeric_field(raw: ibis.Table, name: str, spec: FieldSpec, col: str) -> tuple[ibis.Value, ibis.Value]:
    typ = dt.int64 if (spec.type == "int" or name == "quantity") else dt.float64
    value = _number(raw, col, typ)
    value = value.abs() if spec.abs else value
    word = "an integer" if typ == dt.int64 else "a number"
    bad = ibis.literal(f"{name}: expected {word}") + _said(raw, col)
    present = raw[col].strip() != "" if _is_text(raw[col]) else raw[col].notnull()
    failed = value.isnull() & (present.fill_null(False) | ibis.literal(not spec.optional))
    return value, ibis.ifelse(failed, bad, NULL_TEXT)


def _product(raw: ibis.Table, name: str, spec: FieldSpec) -> tuple[ibis.Value, ibis.Value]:
    parts = [_number(raw, c, dt.float64) for c in spec.product]
    value = parts[0]
    for p in parts[1:]:
        value = value * p
    value = value.abs() if spec.abs else value
    reasons = [(p.isnull(), ibis.literal(f"{name}: expected a number") + _said(raw, c)) for p, c in zip(parts, spec.product)]
    return value, ibis.cases(*reasons, else_=NULL_TEXT)


def _timestamp(raw: ibis.Table, spec: FieldSpec, m: Mapping) -> tuple[ibis.Value, ibis.Value]:
    """The event time and its reason. Unix times stay in UTC here; `to_local` converts them later."""
    col = spec.column
    assert col is not None
    if spec.unit:
        number = _number(raw, col, dt.float64)
        seconds = number / 1000 if spec.unit == "ms" else number
        value = make_timestamp((seconds * 1_000_000).round().cast(dt.int64))
        expect, missing, utc = f"unix {'seconds' if spec.unit == 's' else 'milliseconds'}", number.isnull(), True
    else:
        text = _text(raw, spec, col)
        formats = spec.format or ("%Y-%m-%d %H:%M:%S",)
        tries = [try_strptime(text, f) for f in formats]
        value = ibis.coalesce(*tries) if len(tries) > 1 else tries[0]
        expect, missing, utc = "a time like " + " or ".join(formats), text.isnull(), False
    reason = ibis.cases(
        (missing | value.isnull(), ibis.literal(f"ts: expected {expect}") + _said(raw, col)),
        else_=_range_reason(value, m, utc),
    )
    return value, reason


def is_utc(m: Mapping) -> bool:
    """True when the mapping's `ts` comes from unix time and stays in UTC until `to_local`."""
    return bool(m.fields["ts"].unit)


def to_local(ts_utc: ibis.Value, tz: str, span: tuple[_dt.datetime, _dt.datetime]) -> ibis.Value:
    """UTC timestamps as wall-clock time in `tz` (exact, DST included).

    The offset is piecewise constant between the zone's transitions; `span` (the batch's min and max)
    bounds them, so this is one CASE over a handful of intervals, not a per-row zone lookup.
    """
    lo, hi = (t.replace(tzinfo=_dt.timezone.utc).timestamp() for t in span)
    steps = offset_steps(tz, lo, hi)
    offset = ibis.literal(steps[0][1], dt.int64)
    for start, off in steps[1:]:
        boundary = _dt.datetime.fromtimestamp(start, _dt.timezone.utc).replace(tzinfo=None)
        offset = ibis.ifelse(ts_utc >= ibis.timestamp(boundary), ibis.literal(off, dt.int64), offset)
    return ts_utc + offset.as_interval("s")


def offset_steps(tz: str, lo: float, hi: float) -> list[tuple[int, int]]:
    """[(from unix second, UTC offset in seconds)], checked hour by hour from lo to hi, merged where equal."""
    zone = ZoneInfo(tz)
    start = int(lo // 3600 * 3600)
    steps: list[tuple[int, int]] = []
    for hour in range(start, int(hi) + 3600, 3600):
        off = int(_dt.datetime.fromtimestamp(hour, zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        if not steps or steps[-1][1] != off:
            steps.append((hour, off))
    return steps


def _utc(local: str, tz: str) -> _dt.datetime:
    wall = _dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz))
    return wall.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _range_reason(value: ibis.Value, m: Mapping, utc: bool) -> ibis.Value:
    if not (m.valid_from or m.valid_until):
        return NULL_TEXT
    tz = m.timezone or "UTC"
    outside = ibis.literal(False)
    if m.valid_from:
        outside = outside | (value < ibis.timestamp(_utc(m.valid_from, tz) if utc else m.valid_from))
    if m.valid_until:
        outside = outside | (value >= ibis.timestamp(_utc(m.valid_until, tz) if utc else m.valid_until))
    shown = value
    if utc:
        near = (_utc(m.valid_from or m.valid_until, tz), _utc(m.valid_until or m.valid_from, tz))  # type: ignore[arg-type]
        shown = to_local(value, tz, near)
    where = f" ({m.timezone})" if m.timezone else ""
    msg = f"ts: expected a time in the dataset's valid range [{m.valid_from or '…'}, {m.valid_until or '…'}){where}, received "
    return ibis.ifelse(outside, ibis.literal(msg) + shown.cast(dt.string), NULL_TEXT)


def _behavior(raw: ibis.Table, text: ibis.Value, m: Mapping, col: str) -> tuple[ibis.Value, ibis.Value]:
    vmap = m.values.get("behavior")
    if vmap:
        value = text.substitute(vmap, else_=NULL_TEXT)
        allowed = ", ".join(vmap)
    else:
        value = ibis.ifelse(text.lower().isin(schema.BEHAVIORS), text.lower(), NULL_TEXT)
        allowed = ", ".join(schema.BEHAVIORS)
    reason = ibis.ifelse(value.isnull(), ibis.literal(f"behavior: expected one of {allowed}") + _said(raw, col), NULL_TEXT)
    return value, reason


def product_noun(description: ibis.Value) -> ibis.Value:
    """The product noun of a description: the last word of 3+ letters that is not a describing word.

    Digits and punctuation are dropped, plural S removed, then describing words (colours, patterns, sizes,
    materials: `STOP_WORDS`) skipped: "15CM CHRISTMAS GLASS BALL 20 LIGHTS" → "LIGHT",
    "JUMBO BAG RED RETROSPOT" → "BAG", "WHITE HANGING HEART T-LIGHT HOLDER" → "HOLDER".
    """
    words = description.upper().re_replace(r"[^A-Z]+", " ").strip().split(" ")
    singular = words.map(lambda w: ibis.ifelse(w.re_search(r"[^S]S$") & (w.length() > 3), w.left(w.length() - 1), w))
    kept = singular.filter(lambda w: (w.length() >= 3) & ~w.isin(STOP_WORDS))
    return ibis.ifelse(kept.length() > 0, kept[-1], NULL_TEXT)


def checked(raw: ibis.Table, m: Mapping, *, source: str, pre_reason: ibis.Value | None = None) -> ibis.Table:
    """Event columns + `_reason` (first failing field) + `_raw` (bad rows only) + `_users_*` columns.

    For unix-time layouts `ts` is still UTC here (see `is_utc` and `to_local`).
    """
    values, reasons = {}, [] if pre_reason is None else [pre_reason]
    for name, spec in m.fields.items():
        values[name], reason = _value(raw, name, spec, m)
        reasons.append(reason)
    reason = ibis.coalesce(*reasons) if len(reasons) > 1 else reasons[0]
    users = {f"_users_{k}": _text(raw, _user_spec(m, k, c), c) for k, c in m.users.items()}
    return raw.select(
        event_id=_event_id(raw, m), **values, properties=_properties(raw, m), source=ibis.literal(source),
        _reason=reason, _raw=ibis.ifelse(reason.notnull(), raw_line(raw, m), NULL_TEXT), **users,
    )


def _user_spec(m: Mapping, key: str, column: str) -> FieldSpec:
    """A [users] column is cleaned like the event field of the same name reading the same column
    (so `users.user_id` equals `events.user_id`), else taken as trimmed text."""
    spec = m.fields.get(key)
    return spec if spec is not None and spec.column == column else FieldSpec(column=column)


def _event_id(raw: ibis.Table, m: Mapping) -> ibis.Value:
    if m.id_column:
        return _text(raw, FieldSpec(column=m.id_column), m.id_column)
    cols = m.id or tuple(c for c in raw.columns if c != "_line")
    return md5(ibis.literal("\x1f").join([ibis.literal(m.name), *[as_text(raw[c]).fill_null("") for c in cols]]))


def _properties(raw: ibis.Table, m: Mapping) -> ibis.Value:
    if not m.properties:
        return NULL_TEXT
    return ibis.struct({k: raw[c] for k, c in m.properties.items()}).cast(dt.json).cast(dt.string)


def raw_line(raw: ibis.Table, m: Mapping) -> ibis.Value:
    """The source record as text (for quarantined rows)."""
    if "_line" in raw.columns:
        return raw["_line"]
    parts = [as_text(raw[c]).fill_null("") for c in raw.columns]
    line = parts[0]
    for p in parts[1:]:
        line = line + m.delimiter + p
    return line


def json_columns(lines: ibis.Table, columns: set[str]) -> tuple[ibis.Table, ibis.Value]:
    """Columns extracted from a JSON Lines table (`_line`), and the reason for lines that are not JSON."""
    path = {c: '$."' + c.replace('"', "") + '"' for c in columns}
    line = lines["_line"]
    ok = json_valid(line) & line.strip().startswith("{")
    t = lines.mutate(**{c: ibis.ifelse(ok, json_extract_string(line, p), NULL_TEXT) for c, p in path.items()})
    bad = ~ok
    reason = ibis.ifelse(bad, ibis.literal('line: expected a JSON object, received "') + t["_line"].left(200) + '"', NULL_TEXT)
    return t, reason
