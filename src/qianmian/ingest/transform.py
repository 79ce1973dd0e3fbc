"""From scanned source columns to typed, validated events — as one Ibis expression.

`source_types(mapping)` says how the scanner should type each source column (so the parser itself
rejects a non-number in a numeric column, naming the column); `checked(raw, mapping)` maps the
columns to event fields and adds `_reason`: NULL for a good row, else a sentence naming the field,
what was expected and what was received (the first failing field wins), and `_raw` for bad rows.
It runs on the DuckDB staging engine (built-in functions below are DuckDB's).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt

from qianmian.ingest import rules
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
_SPACE = " \t\n\r\x0b\x0c"  # the characters Ibis' strip() removes
_SRC, _VAL, _USR, _PRE = "_qm_src_", "_qm_val_", "_qm_usr_", "_qm_pre"  # column prefixes between the stages of `checked`


def _nulled(v: ibis.Value, markers: frozenset[str]) -> ibis.Value:
    """`v` with the mapping's null markers (e.g. "NA") as NULL, compared without surrounding whitespace."""
    if not markers or not _is_text(v):
        return v
    return ibis.ifelse(strip(v).isin(sorted(markers)), NULL_TEXT, v)


class Source:
    """The file's columns inside one stage of `checked`, looked up by their names in the file
    (with the mapping's null markers read as NULL)."""

    def __init__(self, table: ibis.Table, names: tuple[str, ...], markers: dict[str, frozenset[str]] | None = None,
                 prefix: str = _SRC) -> None:
        self.table, self.columns, self.markers, self.prefix = table, names, markers or {}, prefix

    def __getitem__(self, column: str) -> ibis.Value:
        return _nulled(self.table[self.prefix + column], self.markers.get(column, frozenset()))

    def original(self, column: str) -> ibis.Value:
        """The column as scanned (a null marker still shown as written)."""
        return self.table[self.prefix + column]


Columns = ibis.Table | Source
"""Where field expressions read source columns: the scanned table itself, or a later stage's copy."""
Reason = Callable[[ibis.Value, Source], ibis.Value]
"""Given the field's typed value (as a column of the stage that reads it) and the source columns,
the sentence saying why the field failed, or NULL; evaluated lazily (CASE), so only failing rows
build text."""


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
        if spec.column and (spec.unit or spec.type == "int"):
            numeric[spec.column] = "DOUBLE"  # "int" too: 2.5 must reach the check as 2.5, not as a rounded 3
        for c in spec.product:
            numeric.setdefault(c, "DOUBLE")
    markers = null_markers(m)
    return {c: "VARCHAR" if c in markers else numeric.get(c, "VARCHAR") for c in columns}


def null_markers(m: Mapping) -> dict[str, frozenset[str]]:
    """Per source column, the texts that mean "missing" (the mapping's null_values, global and per field)."""
    out: dict[str, frozenset[str]] = {}
    for spec in m.fields.values():
        for c in spec.columns():
            out[c] = out.get(c, frozenset()) | frozenset(spec.null_values) | frozenset(m.null_values)
    for c in (*m.properties.values(), *m.users.values()):
        out[c] = out.get(c, frozenset()) | frozenset(m.null_values)
    return {c: v for c, v in out.items() if v}


def _is_text(v: ibis.Value) -> bool:
    return v.type().is_string()


def as_text(v: ibis.Value) -> ibis.Value:
    """A scanned value as the text it was in the file (whole numbers without a trailing .0)."""
    if _is_text(v):
        return v
    if v.type().is_floating():  # TRY_CAST: a number beyond BIGINT stays a number ("1e+300") instead of failing the scan
        whole = v.try_cast(dt.int64)
        return ibis.ifelse(whole.cast(dt.float64) == v, whole.cast(dt.string), v.cast(dt.string))
    return v.cast(dt.string)


def strip(v: ibis.Value) -> ibis.Value:
    """`v` without surrounding whitespace (the characters Ibis' strip() removes).

    Most values have none, and TRIM with a character set is DuckDB's slowest string function here,
    so it runs only where the first byte sorts before "!" or the value ends in whitespace: byte
    comparisons that cost a fifth as much.
    """
    edge = v < "!"
    for ch in _SPACE:
        edge = edge | v.endswith(ch)
    return ibis.ifelse(edge, v.strip(), v)


def _said(raw: Columns, col: str) -> ibis.Value:
    value = raw.original(col) if isinstance(raw, Source) else raw[col]
    return ibis.literal(f' in column "{col}", received "') + as_text(value).fill_null("") + '"'


def _text(raw: Columns, spec: FieldSpec, col: str) -> ibis.Value:
    v = raw[col]
    if not _is_text(v):
        return as_text(v)
    v = strip(v)
    if spec.strip_suffix:
        v = ibis.ifelse(v.endswith(spec.strip_suffix), v.left(v.length() - len(spec.strip_suffix)), v)
    v = v.upper() if spec.upper else v
    return v.nullif("")


def _number(raw: Columns, col: str, typ: dt.DataType) -> ibis.Value:
    v = raw[col]  # DuckDB's casts skip surrounding whitespace themselves
    return v.try_cast(typ) if _is_text(v) else v.cast(typ)


def _value(raw: Columns, name: str, spec: FieldSpec, m: Mapping) -> tuple[ibis.Value, Reason | None]:
    """(typed value, how to say why it failed) for event field `name`; see `Reason`."""
    if spec.constant is not None:
        return _constant(raw, spec), None
    if spec.product:
        return _product(raw, name, spec)
    col = spec.column
    assert col is not None
    kind = m.column_type(name)
    if kind.is_timestamp():
        return _timestamp(raw, spec, m, name)
    if name == "behavior" and m.target == "events":
        return _behavior(_text(raw, spec, col), m, col)
    if kind.is_boolean():
        return _boolean(raw, name, spec, col)
    if spec.type in ("int", "float") or kind.is_numeric():
        return _numeric_field(raw, name, spec, col)
    text = _text(raw, spec, col)
    if spec.derive == "product_noun":
        text = product_noun(text)
    return text, (None if spec.optional else _required(name, col))


def _required(name: str, col: str) -> Reason:
    return _null_means(f"{name}: expected a non-empty value", col)


def _null_means(sentence: str, col: str) -> Reason:
    """The reason for a field whose value is NULL exactly when it failed: `sentence` + what column `col` held."""
    msg = ibis.literal(sentence)
    return lambda v, src: ibis.ifelse(v.isnull(), msg + _said(src, col), NULL_TEXT)


def _constant(raw: Columns, spec: FieldSpec) -> ibis.Value:
    value = ibis.literal(spec.constant)
    if spec.when:
        col, prefix, alt = spec.when
        value = ibis.ifelse(strip(raw[col]).startswith(prefix), ibis.literal(alt), value)
    return value


NONNEGATIVE = ("quantity", "amount", "price", "stock")
"""Event fields the data model keeps >= 0 (a return is a positive amount subtracted from GMV)."""


def _numeric_field(raw: Columns, name: str, spec: FieldSpec, col: str) -> tuple[ibis.Value, Reason]:
    whole = spec.type == "int" or name == "quantity"
    number = _number(raw, col, dt.float64)
    number = number.abs() if spec.abs else number
    if whole:  # a fractional count is refused, not rounded; NULL (refused) beyond 64 bits
        value = ibis.ifelse(number == number.floor(), number.try_cast(dt.int64), ibis.null(dt.int64))
    else:
        value = number
    kind = "a whole number" if whole else "a number"
    bad = ibis.literal(f"{name}: expected {kind}")
    negative = ibis.literal(f"{name}: expected {kind} >= 0")
    floor = name in NONNEGATIVE

    def reason(v: ibis.Value, src: Source) -> ibis.Value:  # an empty optional value is fine; any other NULL is not
        present = strip(src[col]) != "" if _is_text(src[col]) else src[col].notnull()
        failed = present.fill_null(False) | ibis.literal(not spec.optional)
        below = (v < 0).fill_null(False) if floor else ibis.literal(False)
        return ibis.cases((v.isnull() & failed, bad + _said(src, col)), (below, negative + _said(src, col)), else_=NULL_TEXT)

    return value, reason


def _product(raw: Columns, name: str, spec: FieldSpec) -> tuple[ibis.Value, Reason]:
    signed = set(spec.product) if spec.abs is True else set(spec.abs or ())
    parts = [_number(raw, c, dt.float64) for c in spec.product]
    parts = [p.abs() if c in signed else p for c, p in zip(spec.product, parts)]
    value = parts[0]
    for p in parts[1:]:
        value = value * p
    msg = ibis.literal(f"{name}: expected a number")
    below = ibis.literal(f"{name}: expected a number >= 0")
    unsigned = [c for c in spec.product if c not in signed]

    def reason(v: ibis.Value, src: Source) -> ibis.Value:  # the product is NULL exactly when a part is
        named = [(_number(src, c, dt.float64).isnull(), msg + _said(src, c)) for c in spec.product]
        # a factor whose sign is not dropped must not be negative (a negative price is not revenue)
        minus = [(_number(src, c, dt.float64) < 0, below + _said(src, c)) for c in unsigned]
        bad = v.isnull() | (v < 0)
        for c in unsigned:
            bad = bad | (_number(src, c, dt.float64) < 0)
        return ibis.ifelse(bad.fill_null(True), ibis.cases(*named, *minus, else_=below + ", received " + v.cast(dt.string)), NULL_TEXT)

    return value, reason


def _boolean(raw: Columns, name: str, spec: FieldSpec, col: str) -> tuple[ibis.Value, Reason]:
    text = _text(raw, spec, col).lower()
    value = ibis.cases((text.isin(["true", "1", "yes", "y", "t"]), True), (text.isin(["false", "0", "no", "n", "f"]), False),
                       else_=ibis.null(dt.boolean))
    bad = ibis.literal(f"{name}: expected true or false")

    def reason(v: ibis.Value, src: Source) -> ibis.Value:
        present = (_text(src, spec, col).notnull()) | ibis.literal(not spec.optional)
        return ibis.ifelse(v.isnull() & present, bad + _said(src, col), NULL_TEXT)

    return value, reason


def _timestamp(raw: Columns, spec: FieldSpec, m: Mapping, name: str = "ts") -> tuple[ibis.Value, Reason]:
    """The event time and its reason. Unix times stay in UTC here; `to_local` converts them later."""
    col = spec.column
    assert col is not None
    if spec.unit:
        number = _number(raw, col, dt.float64)
        seconds = number / 1000 if spec.unit == "ms" else number
        micros = seconds * 1_000_000
        lo, hi = (int(t.replace(tzinfo=_dt.UTC).timestamp()) * 1_000_000 for t in UNIX_RANGE)
        value = make_timestamp(ibis.ifelse((micros >= lo) & (micros < hi), micros.round(), ibis.null(dt.int64)))
        expect = f"unix {'seconds' if spec.unit == 's' else 'milliseconds'} from {UNIX_RANGE[0].year} to {UNIX_RANGE[1].year - 1}"
        utc = True
    else:
        text = _text(raw, spec, col)
        formats = spec.format or ("%Y-%m-%d %H:%M:%S",)
        tries = [try_strptime(text, f) for f in formats]
        value = ibis.coalesce(*tries) if len(tries) > 1 else tries[0]
        expect, utc = "a time like " + " or ".join(formats), False
        if is_text_in_zone(m):  # written in the mapping's zone: made UTC, then checked and converted like a unix time
            value, utc = from_local(value, m.timezone or "UTC", _span(m)), True
    msg = ibis.literal(f"{name}: expected {expect}")
    present = ibis.literal(not spec.optional)

    def reason(v: ibis.Value, src: Source) -> ibis.Value:  # NULL when the column is empty or does not parse
        missing = v.isnull() & (present | _text(src, spec, col).notnull())
        return ibis.cases((missing, msg + _said(src, col)), else_=_range_reason(v, m, utc, name))

    return value, reason


UNIX_RANGE = (_dt.datetime(1970, 1, 1), _dt.datetime(2100, 1, 1))
"""Unix times outside [1970, 2100) are quarantined: no shop's event log holds them, and a date far
away would make the time-zone conversion span millennia."""


def is_utc(m: Mapping) -> bool:
    """True when `ts` is still UTC after `checked` and `to_local` makes it wall-clock time: unix times,
    and text times written in another zone than the store's (`timezone` on a text-time mapping)."""
    return bool(m.fields["ts"].unit) or is_text_in_zone(m)


def is_text_in_zone(m: Mapping) -> bool:
    return not m.fields["ts"].unit and m.timezone is not None and m.timezone != m.store_timezone


def local_zone(m: Mapping) -> str:
    """The zone `to_local` converts to: the layout's own zone for unix times, else the store's."""
    return (m.timezone or "UTC") if m.fields["ts"].unit else m.store_timezone


def to_local(ts_utc: ibis.Value, tz: str, span: tuple[_dt.datetime, _dt.datetime]) -> ibis.Value:
    """UTC timestamps as wall-clock time in `tz` (exact, DST included).

    The offset is piecewise constant between the zone's transitions; `span` (the batch's min and max)
    bounds them, so this is one CASE over a handful of intervals, not a per-row zone lookup.
    """
    lo, hi = (t.replace(tzinfo=_dt.UTC).timestamp() for t in span)
    steps = offset_steps(tz, lo, hi)
    offset = ibis.literal(steps[0][1], dt.int64)
    for start, off in steps[1:]:
        boundary = _dt.datetime.fromtimestamp(start, _dt.UTC).replace(tzinfo=None)
        offset = ibis.ifelse(ts_utc >= ibis.timestamp(boundary), ibis.literal(off, dt.int64), offset)
    return ts_utc + offset.as_interval("s")


def offset_steps(tz: str, lo: float, hi: float) -> list[tuple[int, int]]:
    """[(from unix second, UTC offset in seconds)] from lo to hi, merged where equal.

    Checked day by day, and hour by hour only inside a day whose offset changed (zones change offset
    on the hour, at most a few times a year), so a span of a century costs ~37k lookups, not ~900k.
    """
    zone = ZoneInfo(tz)

    def offset(t: int) -> int:
        return int(_dt.datetime.fromtimestamp(t, zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    start = int(lo // 3600 * 3600)
    steps: list[tuple[int, int]] = [(start, offset(start))]
    for day in range(start, int(hi) + 86_400, 86_400):
        if offset(day + 86_400) == steps[-1][1]:
            continue  # no change within this day (a change and back within one day does not occur)
        for hour in range(day + 3600, day + 86_400 + 3600, 3600):
            off = offset(hour)
            if off != steps[-1][1]:
                steps.append((hour, off))
    return [(t, off) for t, off in steps if t <= hi + 3600]


def from_local(ts_local: ibis.Value, tz: str, span: tuple[_dt.datetime, _dt.datetime]) -> ibis.Value:
    """Wall-clock times in `tz` as UTC (the inverse of `to_local`; in the hour a clock goes back,
    the later of the two readings)."""
    lo, hi = (t.replace(tzinfo=_dt.UTC).timestamp() for t in span)
    steps = offset_steps(tz, lo - 86_400, hi + 86_400)
    offset = ibis.literal(steps[0][1], dt.int64)
    for start, off in steps[1:]:
        boundary = _dt.datetime.fromtimestamp(start + off, _dt.UTC).replace(tzinfo=None)  # local time it starts
        offset = ibis.ifelse(ts_local >= ibis.timestamp(boundary), ibis.literal(off, dt.int64), offset)
    return ts_local - offset.as_interval("s")


def _span(m: Mapping) -> tuple[_dt.datetime, _dt.datetime]:
    lo = _dt.datetime.fromisoformat(m.valid_from) if m.valid_from else _dt.datetime(2000, 1, 1)
    hi = _dt.datetime.fromisoformat(m.valid_until) if m.valid_until else _dt.datetime(2100, 1, 1)
    return lo, hi


def _utc(local: str, tz: str) -> _dt.datetime:
    wall = _dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz))
    return wall.astimezone(_dt.UTC).replace(tzinfo=None)


def _range_reason(value: ibis.Value, m: Mapping, utc: bool, name: str = "ts") -> ibis.Value:
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
    where = f" ({m.timezone})" if m.timezone and utc else ""
    msg = f"{name}: expected a time in {m.range_label} [{m.valid_from or '…'}, {m.valid_until or '…'}){where}, received "
    return ibis.ifelse(outside, ibis.literal(msg) + shown.cast(dt.string), NULL_TEXT)


def _behavior(text: ibis.Value, m: Mapping, col: str) -> tuple[ibis.Value, Reason]:
    vmap = m.values.get("behavior")
    if vmap:
        value = text.substitute(vmap, else_=NULL_TEXT)
        allowed = ", ".join(vmap)
    else:
        value = ibis.ifelse(text.lower().isin(schema.BEHAVIORS), text.lower(), NULL_TEXT)
        allowed = ", ".join(schema.BEHAVIORS)
    return value, _null_means(f"behavior: expected one of {allowed}", col)


def product_noun(description: ibis.Value) -> ibis.Value:
    """The product noun of a description: the last word of 3+ letters that is not a describing word.

    Digits and punctuation are dropped, describing words (colours, patterns, sizes, materials, themes:
    `STOP_WORDS`) skipped as written and once made singular (`_singular`):
    "15CM CHRISTMAS GLASS BALL 20 LIGHTS" → "LIGHT", "PAPER CHAIN KIT 50'S CHRISTMAS" → "KIT",
    "JUMBO BAG RED RETROSPOT" → "BAG", "WHITE HANGING HEART T-LIGHT HOLDER" → "HOLDER".
    """
    words = description.upper().re_replace(r"[^A-Z]+", " ").strip().split(" ")
    kept = words.filter(lambda w: ~w.isin(STOP_WORDS)).map(_singular).filter(lambda w: (w.length() >= 3) & ~w.isin(STOP_WORDS))
    return ibis.ifelse(kept.length() > 0, kept[-1], NULL_TEXT)


def _singular(w: ibis.StringValue) -> ibis.StringValue:
    """BOXES → BOX, DISHES → DISH, LIGHTS → LIGHT; GLASS, CACTUS, TENNIS and words of 3 letters stay."""
    long = w.length() > 3
    es = w.re_search(r"(X|Z|SH|CH|SS)ES$") & long
    s = w.re_search(r"[^SUI]S$") & long
    return ibis.cases((es, w.left(w.length() - 2)), (s, w.left(w.length() - 1)), else_=w)


def checked(raw: ibis.Table, m: Mapping, *, pre_reason: ibis.Value | None = None) -> ibis.Table:
    """`event_id`, the mapped event fields, `properties` (when mapped), `_reason` (NULL for a good row,
    else the first failing field's sentence), `_raw` (the record, bad rows only) and `_users_<field>` for
    [users] fields that differ from the event field of the same name.

    Three stacked projections, so DuckDB computes each typed value once and the reasons and the raw
    line read it (a single Ibis select would inline every value into every reason that uses it).
    For unix-time layouts `ts` is still UTC here (see `is_utc` and `to_local`).
    """
    names = tuple(raw.columns)
    markers = null_markers(m)
    read = Source(raw, names, markers, prefix="")
    values, reasons = {}, {}
    for name, spec in m.fields.items():
        values[name], reasons[name] = _value(read, name, spec, m)
    users = {k: _text(read, _user_spec(m, k, c), c) for k, c in m.users.items()}
    users = {k: v for k, v in users.items() if not (k in values and v.equals(values[k]))}  # the event field itself
    extra = {"event_id": _event_id(raw, m)} if m.target == "events" else {}
    extra |= {JSON_COLUMN[m.target]: _properties(read, m)} if m.properties else {}
    typed = raw.select(
        **{_SRC + c: raw[c] for c in names}, **{_VAL + n: v for n, v in values.items()}, **extra,
        **{_USR + k: v for k, v in users.items()}, **({_PRE: pre_reason} if pre_reason is not None else {}),
    ).view()
    src = Source(typed, names, markers)
    fields = {n: typed[_VAL + n] for n in values}
    said = [typed[_PRE]] if pre_reason is not None else []
    said += [why(fields[n], src) for n, why in reasons.items() if why is not None]
    said += [_required("event_id", m.id_column)(typed.event_id, src)] if m.id_column and m.target == "events" else []
    said += _rule_reasons(fields, m) if m.target == "events" else []
    reasoned = typed.select(
        *[typed[_SRC + c] for c in names], *[typed[k] for k in extra], *[typed[_USR + k] for k in users], **fields,
        _reason=ibis.coalesce(*said) if len(said) > 1 else said[0],
    ).view()
    out = Source(reasoned, names)
    return reasoned.select(
        *extra, *values, "_reason", _raw=ibis.ifelse(reasoned._reason.notnull(), raw_line(out, m), NULL_TEXT),
        **{f"_users_{k}": reasoned[_USR + k] for k in users},
    )


JSON_COLUMN = {"events": "properties", "items": "attributes", "users": "traits", "stores": "properties"}
"""Where [properties] go in each target table (a JSON object of the listed columns)."""


def _rule_reasons(fields: dict[str, ibis.Value], m: Mapping) -> list[ibis.Value]:
    """The shared per-behaviour rules (`ingest.rules`): an item where the behaviour needs one (when
    the layout maps items at all), at least one unit on a buy or return (when it maps quantities)."""
    behavior = fields["behavior"]
    out = []
    if "item_id" in fields:  # a layout without items at all (CDNOW: purchases, no products) cannot name one
        out.append(ibis.ifelse(behavior.isin(rules.ITEM_BEHAVIORS) & fields["item_id"].isnull(),
                               ibis.literal("item_id: expected an item for behaviour ") + behavior
                               + f" (only {', '.join(sorted(rules.ITEMLESS))} may have none)", NULL_TEXT))
    if "quantity" in fields:
        q = fields["quantity"]
        out.append(ibis.ifelse(behavior.isin(sorted(rules.COUNTED)) & (q < 1).fill_null(False),
                               ibis.literal(rules.QUANTITY_REASON + ", received ") + q.cast(dt.string), NULL_TEXT))
    return out


def _user_spec(m: Mapping, key: str, column: str) -> FieldSpec:
    """A [users] column is cleaned like the event field of the same name reading the same column
    (so `users.user_id` equals `events.user_id`), else taken as trimmed text."""
    spec = m.fields.get(key)
    return spec if spec is not None and spec.column == column else FieldSpec(column=column)


def _event_id(raw: Columns, m: Mapping) -> ibis.Value:
    if m.id_column:
        return _text(raw, FieldSpec(column=m.id_column), m.id_column)
    cols = m.id or tuple(c for c in raw.columns if c != "_line")
    return md5(ibis.literal("\x1f").join([ibis.literal(m.name), *[as_text(raw[c]).fill_null("") for c in cols]]))


def _properties(raw: Columns, m: Mapping) -> ibis.Value:
    return ibis.struct({k: raw[c] for k, c in m.properties.items()}).cast(dt.json).cast(dt.string)


def raw_line(raw: Columns, m: Mapping) -> ibis.Value:
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


def whitespace_columns(lines: ibis.Table, names: list[str]) -> tuple[ibis.Table, ibis.Value]:
    """Columns `names` split from each line (`_line`) at runs of whitespace, and the reason for lines
    with another number of fields."""
    fields = strip(lines["_line"]).re_split(r"\s+")
    count = ibis.ifelse(strip(lines["_line"]) == "", 0, fields.length())
    t = lines.mutate(**{c: fields[i] for i, c in enumerate(names)}, _qm_fields=count)
    expect = f"line: expected {len(names)} fields separated by whitespace ({' '.join(names)}), received "
    reason = ibis.ifelse(t["_qm_fields"] != len(names),
                         ibis.literal(expect) + t["_qm_fields"].cast(dt.string) + ': "' + t["_line"].left(200) + '"', NULL_TEXT)
    return t, reason
