"""From staged text columns to typed, validated events — as one Ibis expression.

`checked(raw, mapping)` returns the staged rows with every event column typed, plus `_reason` (NULL
for a good row, else a sentence naming the field, what was expected and what was received) and
`_field`. The first failing field gives the reason. It runs on the DuckDB staging engine.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from qianmian.ingest.mapping import FieldSpec, Mapping
from qianmian.store import schema

# Words that describe a product rather than name it (colours, patterns, sizes, materials, quantities);
# the product noun is the last remaining word. See docs/data-model.md.
STOP_WORDS = (
    "RED", "PINK", "BLUE", "GREEN", "WHITE", "BLACK", "IVORY", "CREAM", "GOLD", "SILVER", "PURPLE", "YELLOW",
    "ORANGE", "BROWN", "GREY", "GRAY", "COLOUR", "COLOURS", "ASSORTED", "RETROSPOT", "POLKADOT", "SPOTTY", "DOTS",
    "VINTAGE", "DESIGN", "DESIGNS", "SMALL", "LARGE", "MEDIUM", "MINI", "JUMBO", "BIG", "SET", "SETS", "PACK",
    "OF", "AND", "THE", "WITH", "FOR", "IN", "ON", "TO", "BOX", "PCS", "PIECE", "PIECES", "WOOD", "WOODEN",
    "METAL", "GLASS", "PAPER", "FELT", "CERAMIC", "ENAMEL", "ZINC", "TIN", "HEART", "HEARTS", "FLOWER",
    "FLORAL", "CHRISTMAS", "STAR", "SPOT", "STRIPE", "LOVE", "HANGING", "DECORATION", "PAISLEY", "SPACEBOY",
    "SUKI", "SKULL", "WOODLAND", "DOLLY", "GIRL", "REGENCY", "BIRD", "BIRDS", "SWEETHEART", "PANTRY", "PARTY",
    "RETRO", "ENGLISH", "FRENCH", "CHARLOTTE", "ORIENTAL", "ANTIQUE", "VICTORIAN", "LUNCH", "BABUSHKA",
)


@ibis.udf.scalar.builtin
def md5(s: str) -> str: ...


@ibis.udf.scalar.builtin
def try_strptime(s: str, fmt: str) -> dt.timestamp: ...


@ibis.udf.scalar.builtin
def to_timestamp(x: float) -> dt.Timestamp(timezone="UTC"): ...


@ibis.udf.scalar.builtin
def timezone(tz: str, t: dt.Timestamp(timezone="UTC")) -> dt.timestamp: ...


def _text(raw: ibis.Table, spec: FieldSpec, col: str) -> ibis.Value:
    v = raw[col].strip()
    if spec.strip_suffix:
        v = ibis.ifelse(v.endswith(spec.strip_suffix), v.left(v.length() - len(spec.strip_suffix)), v)
    v = v.upper() if spec.upper else v
    return ibis.ifelse(v == "", ibis.null(dt.string), v)


def _said(raw: ibis.Table, col: str) -> ibis.Value:
    return ibis.literal(f' in column "{col}", received "') + raw[col].fill_null("") + '"'


def _value(raw: ibis.Table, name: str, spec: FieldSpec, m: Mapping) -> tuple[ibis.Value, ibis.Value]:
    """(typed value, reason or NULL) for event field `name`."""
    null_reason = ibis.null(dt.string)
    if spec.constant is not None:
        value = ibis.literal(spec.constant)
        if spec.when:
            col, prefix, alt = spec.when
            value = ibis.ifelse(raw[col].strip().startswith(prefix), ibis.literal(alt), value)
        return value, null_reason
    if spec.product:
        return _product(raw, name, spec)
    col = spec.column
    assert col is not None
    text = _text(raw, spec, col)
    missing = text.isnull()
    empty_reason = ibis.literal(f"{name}: expected a non-empty value") + _said(raw, col)
    if name == "ts":
        value, bad = _timestamp(text, spec, m)
        expect = f"unix {'seconds' if spec.unit == 's' else 'milliseconds'}" if spec.unit else "a time like " + " or ".join(spec.format or ("%Y-%m-%d %H:%M:%S",))
        reason = ibis.cases((missing, empty_reason), (bad, ibis.literal(f"ts: expected {expect}") + _said(raw, col)), else_=_range_reason(value, m))
        return value, reason
    if spec.derive == "product_noun":
        value = product_noun(text)
        return value, (ibis.ifelse(missing & ~spec.optional, empty_reason, null_reason))
    if name == "behavior":
        return _behavior(raw, text, m, col)
    if spec.type in ("int", "float") or name in ("quantity", "amount"):
        return _number(raw, text, name, spec, col, missing)
    return text, (null_reason if spec.optional else ibis.ifelse(missing, empty_reason, null_reason))


def _number(raw, text, name, spec, col, missing):
    typ = dt.int64 if (spec.type == "int" or name == "quantity") else dt.float64
    value = text.try_cast(typ)
    value = value.abs() if spec.abs else value
    word = "an integer" if typ == dt.int64 else "a number"
    bad = ibis.literal(f"{name}: expected {word}") + _said(raw, col)
    reason = ibis.cases((missing & ~spec.optional, ibis.literal(f"{name}: expected {word}") + _said(raw, col)), (~missing & value.isnull(), bad), else_=ibis.null(dt.string))
    return value, reason


def _product(raw: ibis.Table, name: str, spec: FieldSpec) -> tuple[ibis.Value, ibis.Value]:
    parts = [raw[c].strip().try_cast(dt.float64) for c in spec.product]
    value = parts[0]
    for p in parts[1:]:
        value = value * p
    value = value.abs() if spec.abs else value
    reasons = [
        (p.isnull(), ibis.literal(f"{name}: expected a number") + _said(raw, c)) for p, c in zip(parts, spec.product)
    ]
    return value, ibis.cases(*reasons, else_=ibis.null(dt.string))


def _timestamp(text: ibis.Value, spec: FieldSpec, m: Mapping) -> tuple[ibis.Value, ibis.Value]:
    if spec.unit:
        seconds = text.try_cast(dt.float64)
        seconds = seconds / 1000 if spec.unit == "ms" else seconds
        value = timezone(m.timezone or "UTC", to_timestamp(seconds))
    else:
        tries = [try_strptime(text, f) for f in (spec.format or ("%Y-%m-%d %H:%M:%S",))]
        value = ibis.coalesce(*tries) if len(tries) > 1 else tries[0]
    return value, text.notnull() & value.isnull()


def _range_reason(value: ibis.Value, m: Mapping) -> ibis.Value:
    if not (m.valid_from or m.valid_until):
        return ibis.null(dt.string)
    lo = ibis.timestamp(m.valid_from) if m.valid_from else None
    hi = ibis.timestamp(m.valid_until) if m.valid_until else None
    outside = ibis.literal(False)
    outside = outside | (value < lo) if lo is not None else outside
    outside = outside | (value >= hi) if hi is not None else outside
    tz = f" ({m.timezone})" if m.timezone else ""
    msg = f"ts: expected a time in the dataset's valid range [{m.valid_from or '…'}, {m.valid_until or '…'}){tz}, received "
    return ibis.ifelse(outside, ibis.literal(msg) + value.cast(dt.string), ibis.null(dt.string))


def _behavior(raw: ibis.Table, text: ibis.Value, m: Mapping, col: str) -> tuple[ibis.Value, ibis.Value]:
    vmap = m.values.get("behavior")
    if vmap:
        value = text.substitute(vmap, else_=ibis.null(dt.string))
        allowed = ", ".join(vmap)
    else:
        value = ibis.ifelse(text.lower().isin(schema.BEHAVIORS), text.lower(), ibis.null(dt.string))
        allowed = ", ".join(schema.BEHAVIORS)
    reason = ibis.ifelse(value.isnull(), ibis.literal(f"behavior: expected one of {allowed}") + _said(raw, col), ibis.null(dt.string))
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
    return ibis.ifelse(kept.length() > 0, kept[-1], ibis.null(dt.string))


def checked(raw: ibis.Table, m: Mapping, *, source: str, pre_reason: ibis.Value | None = None) -> ibis.Table:
    """Typed event columns + `_reason` (first failing field) + `_row` + `_raw` + `_users_*` columns."""
    values, reasons = {}, [] if pre_reason is None else [(pre_reason.notnull(), pre_reason)]
    for name, spec in m.fields.items():
        values[name], reason = _value(raw, name, spec, m)
        reasons.append((reason.notnull(), reason))
    reason = ibis.cases(*reasons, else_=ibis.null(dt.string)) if reasons else ibis.null(dt.string)
    cols = {
        "event_id": _event_id(raw, m),
        **values,
        "properties": _properties(raw, m),
        "source": ibis.literal(source),
        "_reason": reason,
        "_raw": _raw_line(raw, m),
        "_row": raw["_qm_rowid"],
    }
    cols.update({f"_users_{k}": _text(raw, FieldSpec(column=c, strip_suffix=".0"), c) for k, c in m.users.items()})
    return raw.select(**cols)


def _event_id(raw: ibis.Table, m: Mapping) -> ibis.Value:
    if m.id_column:
        return raw[m.id_column].strip()
    cols = m.id or tuple(c for c in raw.columns if c not in ("_qm_rowid", "_line"))
    joined = ibis.literal(m.name)
    for c in cols:
        joined = joined + "\x1f" + raw[c].fill_null("")
    return md5(joined)


def _properties(raw: ibis.Table, m: Mapping) -> ibis.Value:
    if not m.properties:
        return ibis.null(dt.string)
    struct = ibis.struct({k: raw[c] for k, c in m.properties.items()})
    return struct.cast(dt.json).cast(dt.string)


def _raw_line(raw: ibis.Table, m: Mapping) -> ibis.Value:
    if "_line" in raw.columns:
        return raw["_line"]
    cols = [c for c in raw.columns if c != "_qm_rowid"]
    line = raw[cols[0]].fill_null("")
    for c in cols[1:]:
        line = line + m.delimiter + raw[c].fill_null("")
    return line


@ibis.udf.scalar.builtin
def json_extract_string(s: str, path: str) -> str: ...


@ibis.udf.scalar.builtin
def json_valid(s: str) -> bool: ...


def json_columns(lines: ibis.Table, columns: set[str]) -> tuple[ibis.Table, ibis.Value]:
    """Columns extracted from a JSON Lines table (`_line`), and the reason for lines that are not JSON."""
    path = {c: '$."' + c.replace('"', '') + '"' for c in columns}
    t = lines.mutate(**{c: json_extract_string(lines["_line"], p) for c, p in path.items()})
    bad = ~json_valid(t["_line"]) | ~t["_line"].strip().startswith("{")
    reason = ibis.ifelse(bad, ibis.literal('line: expected a JSON object, received "') + t["_line"].left(200) + '"', ibis.null(dt.string))
    return t, reason
