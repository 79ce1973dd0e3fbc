"""A corpus of broken inputs, built from the real files in ../shared/data.

Each case is a file cut from a real file and damaged in one known way (or left clean as the
control), with the exact outcome an ingest must report: read / loaded / duplicates / quarantined,
and for each quarantined record its line number and the text of its reason. Cases whose records
can also be sent as events carry `events` (the same records as `POST /v1/events` bodies) and the
indexes the API must refuse.

    python tests/ingest/corpus.py OUT_DIR [SHARED_DATA_DIR]    # writes the files and a cases.json
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TAOBAO = "taobao_userbehavior/ub_tail_10k.csv"
RETAIL = "online_retail_ii/online_retail_ii_2009_2010.csv.gz"
N = 20  # records per case
BEHAVIOR = {"pv": "view", "fav": "fav", "cart": "cart", "buy": "buy"}
QUOTE = "record: expected quotes that close on the same line"
RANGE = "ts: expected a time in the store's plausible range"


@dataclass
class Case:
    name: str
    file: str
    layout: str | None  # None: `mapping` (a TOML file in the corpus)
    counts: tuple[int, int, int, int] | None  # read, loaded, duplicates, quarantined; None: the ingest is refused
    reasons: list[tuple[int, str]] = field(default_factory=list)  # (line, text its reason contains)
    error: str | None = None  # the refusal's message contains this
    mapping: str | None = None
    events: list[dict] | None = None  # the same records as API events
    bad_events: list[int] = field(default_factory=list)  # indexes the API refuses

    def to_dict(self) -> dict:
        return asdict(self)


def _taobao_lines(data: Path) -> list[str]:
    """The first N lines of the Taobao tail inside the layout's valid range (Beijing 2017-11-25 … 12-03)."""
    lo, hi = 1511539200, 1512316800  # 2017-11-25 00:00 and 2017-12-04 00:00 at UTC+8
    out = []
    for line in (data / TAOBAO).read_text().splitlines():
        if lo <= int(line.rsplit(",", 1)[1]) < hi:
            out.append(line)
        if len(out) == N:
            return out
    raise AssertionError("not enough Taobao lines in range")


def _retail_lines(data: Path) -> tuple[str, list[str]]:
    """The header and the first N sale lines of Online Retail II with a customer, a positive price and no quote."""
    with gzip.open(data / RETAIL, "rt", encoding="utf-8", newline="") as fh:
        header = fh.readline().rstrip("\n")
        out = []
        for line in fh:
            row = next(csv.reader([line]))
            if row[6] and float(row[5]) > 0 and '"' not in line and not row[0].startswith("C"):
                out.append(line.rstrip("\n"))
            if len(out) == N:
                return header, out
    raise AssertionError("not enough Online Retail lines")


def taobao_event(line: str, **change) -> dict:
    user, item, cat, beh, ts = line.split(",")
    event = {"event_id": hashlib.md5(line.encode()).hexdigest(), "user_id": user, "item_id": item,
             "category_id": cat, "behavior": BEHAVIOR.get(beh, beh), "ts": int(ts)}
    return {**event, **change}


def retail_event(header: str, line: str, **change) -> dict:
    row = dict(zip(header.split(","), next(csv.reader([line]))))
    quantity = float(row["Quantity"])
    event = {"event_id": hashlib.md5(line.encode()).hexdigest(), "user_id": row["Customer ID"].removesuffix(".0"),
             "item_id": row["StockCode"], "behavior": "buy", "ts": row["InvoiceDate"].replace(" ", "T"),
             "quantity": int(quantity) if quantity.is_integer() else quantity,
             "amount": round(quantity * float(row["Price"]), 2), "order_id": row["Invoice"]}
    return {**event, **change}


def _set(line: str, column: int, value: str, sep: str = ",") -> str:
    parts = next(csv.reader([line], delimiter=sep))
    parts[column] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(parts)
    return buf.getvalue()[:-1]


def build(out: Path, data: Path) -> list[Case]:
    """Write every case's file into `out` and return the cases."""
    out.mkdir(parents=True, exist_ok=True)
    tb = _taobao_lines(data)
    head, rt = _retail_lines(data)
    cases: list[Case] = []

    def write(name: str, content: bytes | str, *, gz: bool = False) -> str:
        raw = content.encode("utf-8") if isinstance(content, str) else content
        path = out / name
        path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
        return name

    def lines(rows: list[str], end: str = "\n") -> str:
        return end.join(rows) + end

    def tb_case(name: str, rows: list[str], counts, reasons=(), *, events=None, bad=(), raw: bytes | None = None, gz=False):
        file = write(name, raw if raw is not None else lines(rows), gz=gz)
        cases.append(Case(name, file, "taobao", counts, list(reasons), events=events, bad_events=list(bad)))

    def tb_with(i: int, line: str) -> list[str]:
        return tb[:i] + [line] + tb[i + 1:]

    clean_events = [taobao_event(x) for x in tb]
    # --- Taobao layout (no header, unix seconds) ---------------------------------------------------
    tb_case("tb_clean.csv", tb, (N, N, 0, 0), events=clean_events)
    tb_case("tb_stray_quote.csv", tb_with(7, tb[7].replace(",", ',"', 1)), (N, N - 1, 0, 1), [(8, QUOTE)])
    two = tb[:3] + [tb[3].replace(",", ',"', 1), tb[4].replace(",", ',"', 1)] + tb[5:]
    tb_case("tb_two_unclosed_lines.csv", two, (N, N - 2, 0, 2), [(4, QUOTE), (5, QUOTE)])
    tb_case("tb_quoted_fields.csv", tb_with(2, '"' + tb[2].replace(",", '","') + '"'), (N, N, 0, 0))
    tb_case("tb_crlf.csv", tb, (N, N, 0, 0), raw=lines(tb, "\r\n").encode())
    tb_case("tb_mixed_line_endings.csv", tb, (N, N, 0, 0), raw=(lines(tb[:10], "\r\n") + lines(tb[10:])).encode())
    tb_case("tb_bom.csv", tb, (N, N, 0, 0), raw=b"\xef\xbb\xbf" + lines(tb).encode())
    tb_case("tb_empty_lines.csv", tb, (N, N, 0, 0), raw=("\n" + lines(tb[:5]) + "\n\n" + lines(tb[5:]) + "\n").encode())
    tb_case("tb_extra_column.csv", tb_with(4, tb[4] + ",extra"), (N, N - 1, 0, 1), [(5, "too many columns")])
    tb_case("tb_missing_column.csv", tb_with(9, tb[9].rsplit(",", 1)[0]), (N, N - 1, 0, 1), [(10, "too few columns")])
    huge = tb[0].split(",")
    huge[1] = "9" * (2 << 20)
    tb_case("tb_huge_field.csv", tb_with(6, ",".join(huge)), (N, N - 1, 0, 1), [(7, "record: the line is longer than 1 MiB")])
    latin = tb_with(11, tb[11].replace(",", ",caf\udce9", 1))
    tb_case("tb_latin1_byte.csv", latin, (N, N - 1, 0, 1), [(12, "column item_id: Invalid unicode")],
            raw=lines(latin).encode("utf-8", errors="surrogateescape"))
    for name, ts, start in (("tb_year_1900.csv", "-2208988800", "ts: expected unix seconds from 1970 to 2099"),
                            ("tb_year_2100.csv", "4102444800", "ts: expected unix seconds from 1970 to 2099"),
                            ("tb_negative_time.csv", "-5", "ts: expected unix seconds from 1970 to 2099"),
                            ("tb_year_2016.csv", "1470000000", "ts: expected a time in the dataset's valid range")):
        bad = _set(tb[2], 4, ts)
        events = [taobao_event(x) for x in tb_with(2, bad)]
        tb_case(name, tb_with(2, bad), (N, N - 1, 0, 1), [(3, start)], events=events if "2016" not in name else None, bad=[2])
    tb_case("tb_fractional_seconds.csv", tb_with(2, tb[2] + ".5"), (N, N, 0, 0))
    tb_case("tb_unknown_behaviour.csv", tb_with(5, _set(tb[5], 3, "teleport")), (N, N - 1, 0, 1),
            [(6, 'behavior: expected one of pv, fav, cart, buy in column "behavior_type", received "teleport"')],
            events=[taobao_event(x) for x in tb_with(5, _set(tb[5], 3, "teleport"))], bad=[5])
    tb_case("tb_empty_user.csv", tb_with(1, _set(tb[1], 0, "")), (N, N - 1, 0, 1), [(2, "user_id: expected a non-empty value")])
    tb_case("tb_empty_item.csv", tb_with(1, _set(tb[1], 1, "")), (N, N - 1, 0, 1), [(2, "item_id: expected a non-empty value")],
            events=[taobao_event(x) for x in tb[:1]] + [taobao_event(tb[1], item_id=None)] + [taobao_event(x) for x in tb[2:]], bad=[1])
    tb_case("tb_repeated_lines.csv", tb[:17] + tb[:3], (N, 17, 3, 0))
    tb_case("tb_clean.csv.gz", tb, (N, N, 0, 0), gz=True)
    tb_case("tb_crlf_quote.csv.gz", tb, (N, N - 1, 0, 1), [(3, QUOTE)],
            raw=lines(tb_with(2, tb[2].replace(",", ',"', 1)), "\r\n").encode(), gz=True)
    full = gzip.compress(lines(tb).encode(), mtime=0)
    cases.append(Case("tb_truncated.csv.gz", write("tb_truncated.csv.gz", full[: len(full) - 30]), "taobao", None,
                      error="a complete gzip stream"))
    tb_case("tb_empty_file.csv", [], (0, 0, 0, 0), raw=b"")
    cases.append(Case("tb_wrong_format_retail.csv", write("tb_wrong_format_retail.csv", lines([head, *rt])), "taobao", None,
                      error="file columns: expected 5 columns without a header line"))

    # --- Online Retail layout (header, text times, quantity × price) -------------------------------
    def rt_case(name: str, rows: list[str], counts, reasons=(), *, events=None, bad=(), header: str = head, gz=False, end="\n"):
        file = write(name, lines([header, *rows], end), gz=gz)
        cases.append(Case(name, file, "online-retail", counts, list(reasons), events=events, bad_events=list(bad)))

    def rt_with(i: int, line: str) -> list[str]:
        return rt[:i] + [line] + rt[i + 1:]

    rt_case("or_clean.csv", rt, (N, N, 0, 0), events=[retail_event(head, x) for x in rt])
    rt_case("or_header_only.csv", [], (0, 0, 0, 0))
    rt_case("or_empty_first_header_cell.csv", [f"{i},{x}" for i, x in enumerate(rt)], (N, N, 0, 0), header="," + head)
    rt_case("or_duplicate_header_cell.csv", [x + ",x" for x in rt], (N, N, 0, 0), header=head + ",Country")
    rt_case("or_unclosed_quote.csv", rt_with(4, _set(rt[4], 2, "X").replace(",X,", ',"X WITH QUOTE,', 1)),
            (N, N - 1, 0, 1), [(6, QUOTE)])
    split = _set(rt[8], 2, "TWO\nLINES")
    rt_case("or_field_across_lines.csv", rt_with(8, split), (N + 1, N - 1, 0, 2), [(10, QUOTE), (11, QUOTE)])
    for name, col, value, line_reason, change in (
        ("or_fractional_quantity.csv", 3, "2.5", 'quantity: expected a whole number in column "Quantity", received "2.5"', {"quantity": 2.5}),
        ("or_zero_quantity.csv", 3, "0", "quantity: expected at least 1 unit on a buy or return, received 0", {"quantity": 0}),
        ("or_negative_price.csv", 5, "-2.5", 'amount: expected a number >= 0 in column "Price", received "-2.5"', {"amount": -2.5}),
        ("or_year_1900.csv", 4, "1900-01-01 10:00:00", RANGE, {"ts": "1900-01-01T10:00:00"}),
        ("or_year_2100.csv", 4, "2100-01-01 10:00:00", RANGE, {"ts": "2100-01-01T10:00:00"}),
        ("or_bad_date.csv", 4, "not a date", "ts: expected a time like", {"ts": "not a date"}),
        ("or_text_quantity.csv", 3, "NA", "column Quantity: a value that does not fit the column's type", {"quantity": "NA"}),
    ):
        rows = rt_with(3, _set(rt[3], col, value))
        events = [retail_event(head, x) for x in rt]
        events[3] = {**events[3], **change}
        rt_case(name, rows, (N, N - 1, 0, 1), [(5, line_reason)], events=events, bad=[3])
    rt_case("or_missing_price_column.csv", rt, None, header=head.replace("Price,", ""))
    cases[-1].error = "file columns: expected a header with the columns"
    rt_case("or_crlf.csv.gz", rt, (N, N, 0, 0), gz=True, end="\r\n")

    # --- a mapping: NA markers, JSON Lines, Parquet -------------------------------------------------
    mapping = write("shop.toml", MAPPING)
    export = [{"id": f"e{i}", "customer": x.split(",")[0], "sku": x.split(",")[1], "action": x.split(",")[3],
               "when": _iso(int(x.split(",")[4]))} for i, x in enumerate(tb[:10])]

    def as_csv(rows: list[dict]) -> str:
        return lines(["id,customer,sku,action,when", *[",".join(r.values()) for r in rows]])

    def map_case(name, file, counts, reasons=()):
        cases.append(Case(name, file, None, counts, list(reasons), mapping=mapping))

    na = [dict(r) for r in export]
    na[2]["customer"], na[4]["action"] = "NA", "null"
    map_case("map_na_markers.csv", write("map_na_markers.csv", as_csv(na)), (10, 9, 0, 1),
             [(6, 'behavior: expected one of pv, fav, cart, buy in column "action", received "null"')])
    jl = [json.dumps(r) for r in export]
    map_case("map_events.jsonl", write("map_events.jsonl", lines(jl)), (10, 10, 0, 0))
    map_case("map_bad_line.jsonl", write("map_bad_line.jsonl", lines([*jl[:3], "{not json", "", *jl[3:]])), (11, 10, 0, 1),
             [(4, "line: expected a JSON object")])
    map_case("map_events.jsonl.gz", write("map_events.jsonl.gz", lines(jl), gz=True), (10, 10, 0, 0))
    table = pa.Table.from_pylist(export)
    pq.write_table(table, out / "map_events.parquet")
    map_case("map_events.parquet", "map_events.parquet", (10, 10, 0, 0))
    bad = [dict(r) for r in export]
    bad[1]["action"], bad[7]["when"] = "teleport", "1900-01-01 08:00:00"
    pq.write_table(pa.Table.from_pylist(bad), out / "map_bad_values.parquet")
    map_case("map_bad_values.parquet", "map_bad_values.parquet", (10, 8, 0, 2),
             [(2, "behavior: expected one of"), (8, RANGE)])
    return cases


def _iso(unix: int) -> str:
    import datetime as dt

    return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=unix + 8 * 3600)).isoformat(sep=" ")


MAPPING = """
name = "shop-export"
id_column = "id"
null_values = ["NA"]

[fields]
user_id = { column = "customer", optional = true }
item_id = "sku"
behavior = "action"
ts = "when"

[values.behavior]
pv = "view"
fav = "fav"
cart = "cart"
buy = "buy"
"""


def main(argv: list[str]) -> None:
    out = Path(argv[1])
    data = Path(argv[2]) if len(argv) > 2 else Path(__file__).resolve().parents[3] / "shared" / "data"
    cases = build(out, data)
    (out / "cases.json").write_text(json.dumps([c.to_dict() for c in cases], indent=1))
    print(f"{len(cases)} cases written to {out}")


if __name__ == "__main__":
    main(sys.argv)

