"""`Store`: one class over any Ibis backend, with the few engine-specific parts kept in one place."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import operator
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import ibis
import pandas as pd
import pyarrow as pa

from qianmian.errors import InputError, NotFoundError, SchemaError, StoreError
from qianmian.store import schema as S
from qianmian.store import spark
from qianmian.store.spark import SparkOptions

Engine = Literal["duckdb", "spark"]
ROLLUP = "consumer_days"
"""The daily rollup (`qianmian.store.rollup`), which a delete on `events` keeps exact."""


class Store:
    """A connected store. Build expressions with `table`, run them with `execute`/`to_pyarrow`."""

    def __init__(self, con: ibis.BaseBackend, engine: Engine, url: str) -> None:
        self.con = con
        self.engine: Engine = engine
        self.url = url
        self._temp_dirs: list[Path] = []
        atexit.register(_remove_folders, self._temp_dirs)  # batches handed to Spark, if `close` is never called
        self._core: dict[str, ibis.Table] = {}
        self._id: str | None = None

    @property
    def id(self) -> str:
        """This store's id: written once when the store was created (or first migrated to schema
        version 3), the same for every process and engine that opens it. Models record it."""
        if self._id is None:
            if S.IDENTITY not in self.list_tables():
                raise SchemaError(f"store {self.url!r} has no id yet: open it with migrations (connect(url)) first")
            found = self.execute(self.table(S.IDENTITY).id.min())
            if found is None:
                raise SchemaError(f"store {self.url!r} has an empty {S.IDENTITY} table: open it with connect(url) to write one")
            self._id = str(found)
        return self._id

    # -- reading ------------------------------------------------------------------------------
    def table(self, name: str) -> ibis.Table:
        """The named table as an Ibis expression (`NotFoundError` if it does not exist).

        Core tables (`schema.TABLES`: fixed schemas, never dropped) are looked up once per store,
        since a lookup is a catalog query (~3 ms on DuckDB) and every metric starts with one; a
        migration clears this memo.
        """
        if name in self._core:
            return self._core[name]
        try:
            t = self.con.table(name)
        except Exception as exc:  # backends raise different classes for a missing table
            if name not in self.list_tables():
                raise NotFoundError("table", name) from exc
            raise
        if name in S.TABLES:
            self._core[name] = t
        return t

    def forget_tables(self) -> None:
        """Look core tables up again on next use (after a change to their schema, e.g. a migration)."""
        self._core.clear()

    def list_tables(self) -> list[str]:
        """User-visible tables (Ibis memtables and our temporary tables are hidden)."""
        return sorted(t for t in self.con.list_tables() if not t.startswith(("ibis_", "_qm_")))

    def execute(self, expr: ibis.Expr, **kwargs: Any) -> Any:
        """Run an expression: a table gives a pandas DataFrame, a scalar gives a Python value."""
        return self.con.execute(expr, **kwargs)

    def to_pyarrow(self, expr: ibis.Expr) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def to_pyarrow_batches(self, expr: ibis.Table, *, chunk_size: int = 100_000) -> pa.RecordBatchReader:
        """The rows of `expr` as a stream of Arrow record batches (for results too big to hold)."""
        return self.con.to_pyarrow_batches(expr, chunk_size=chunk_size)

    def read_file(self, path: Path, kind: Literal["csv", "parquet"]) -> ibis.Table:
        """A CSV or Parquet file as a table of this store, registered rather than copied (the
        engine's own reader, so its parse errors are the engine's)."""
        reader = self.con.read_parquet if kind == "parquet" else self.con.read_csv
        return reader(str(path))

    def count(self, name: str) -> int:
        return int(self.execute(self.table(name).count()))

    # -- writing ------------------------------------------------------------------------------
    def ensure_table(self, name: str, schema: ibis.Schema) -> ibis.Table:
        """Create the table if it is missing (domain packages own their tables this way)."""
        if name not in self.con.list_tables():
            self.con.create_table(name, schema=schema)
        return self.con.table(name)

    def append(self, name: str, data: pa.Table | pd.DataFrame | ibis.Table, *, dedupe: bool = True) -> int:
        """Append rows to `name`; with `dedupe`, rows whose natural key exists are skipped.

        Rows repeating a key within `data` are written once (the first). Returns the number of rows
        written. Rows are cast to the table's schema first, so a column missing from `data` becomes
        NULL and an extra column is an error.
        """
        target = self.table(name)
        batch = self._as_table(data, target.schema(), name)
        keys = list(S.KEYS.get(name, ())) if dedupe else []
        if keys:
            batch = self._first_per_key(batch, keys).anti_join(target.select(*keys), keys)
        before = self.count(name)
        with self._unordered():
            self.con.insert(name, batch)
        return self.count(name) - before

    @contextlib.contextmanager
    def _unordered(self) -> Iterator[None]:
        """Let DuckDB write appended rows in any order (in parallel); tables have no row order anyway.

        The setting belongs to the whole DuckDB database, so while an append runs, queries without
        ORDER BY on other threads of this store may also see rows in another order; the previous
        value is restored afterwards.
        """
        if self.engine != "duckdb":
            yield
            return
        raw = self.con.con
        before = raw.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
        raw.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            raw.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")

    def _first_per_key(self, batch: ibis.Table, keys: list[str]) -> ibis.Table:
        """`batch` with one row per key. One grouping finds the keys that repeat (usually none); only
        their rows go through the costly DISTINCT ON. The repeated keys are fetched once, so the
        insert does not group the batch again."""
        repeated = batch.group_by(keys).aggregate(_n=ibis._.count()).filter(ibis._._n > 1).select(*keys)
        found = self.to_pyarrow(repeated)
        if found.num_rows == 0:
            return batch
        rep = self._from_arrow(found)
        unique = batch.anti_join(rep, keys)
        firsts = batch.semi_join(rep, keys).distinct(on=keys, keep="first")
        return unique.union(firsts)

    def _as_table(self, data: Any, schema: ibis.Schema, name: str) -> ibis.Table:
        if isinstance(data, ibis.Table):
            t = data
        else:
            arrow = pa.Table.from_pandas(data, preserve_index=False) if isinstance(data, pd.DataFrame) else data
            t = self._from_arrow(arrow)
        extra = set(t.columns) - set(schema.names)
        if extra:
            raise InputError(f"{name} columns", f"a subset of {list(schema.names)}", sorted(extra))
        return t.select(
            *[
                (t[c].cast(typ) if c in t.columns else ibis.null().cast(typ)).name(c)
                for c, typ in schema.items()
            ]
        )

    def _from_arrow(self, arrow: pa.Table) -> ibis.Table:
        """Arrow data as a table of this engine. Spark reads a temporary Parquet file (driver memory
        stays flat); DuckDB scans the Arrow data in place."""
        if self.engine == "duckdb":
            return ibis.memtable(arrow)
        import pyarrow.parquet as pq

        session = self.con._session
        shared = self._staging()
        if shared is None:  # a Connect server on another machine: the rows travel as Arrow over gRPC
            name = f"_qm_batch_{uuid.uuid4().hex}"
            session.createDataFrame(_microseconds(arrow)).createOrReplaceTempView(name)
            return self.con.table(name)
        folder = Path(tempfile.mkdtemp(prefix="qianmian-batch-", dir=shared))
        pq.write_table(_microseconds(arrow), folder / "part-0.parquet")
        self._temp_dirs.append(folder)
        return self.con.read_parquet(str(folder / "part-0.parquet"))

    def _staging(self) -> Path | None:
        """Where Parquet batches go: the temp dir in-process; a Connect server's shared staging
        folder when this machine can write it (asked once); None means send Arrow over gRPC."""
        if not self.url.startswith("sc://"):
            return Path(tempfile.gettempdir())
        if not hasattr(self, "_staging_dir"):
            self._staging_dir = spark.staging_folder(self.con._session)
        return self._staging_dir

    def delete_where(self, name: str, column: str, values: list[str]) -> int:
        """Delete rows whose `column` is one of `values`; returns how many were deleted."""
        t = self.table(name)
        if column not in t.columns:
            raise InputError("column", f"a column of {name}", column)
        if name == "events":  # the daily rollup must stop counting them (qianmian.store.rollup)
            self._forget_rollup_cells(column, values)
        return self.delete_matching(name, {column: [v for v in values if v is not None]})  # NULL never matches here

    def _forget_rollup_cells(self, column: str, values: list[str]) -> None:
        """Before events are deleted by `column IN values`: drop the `consumer_days` rows that counted
        them. A user or source is a rollup key, so only its rows go and other cells stay exact; any
        other delete drops the rows of every cell it touches (`refresh_rollup` rebuilds them)."""
        if ROLLUP not in self.list_tables():
            return
        if column in ("user_id", "source"):
            self.delete_matching(ROLLUP, {column: list(values)})
            return
        ev = self.table("events")
        hit = ev.filter(ev[column].isin(list(values)))
        cells = self.execute(hit.select(source=hit.source, day=hit.ts.date()).distinct())
        for source, group in cells.groupby("source", dropna=False):
            source = None if source != source else source
            self.delete_matching(ROLLUP, {"source": [source], "day": sorted({as_day(d) for d in group["day"]})})

    def delete_matching(self, name: str, where: dict[str, list[Any]]) -> int:
        """Delete rows whose every named column holds one of its values (None matches NULL);
        returns how many were deleted.

        >>> store.delete_matching("consumer_days", {"source": ["api"], "day": [dt.date(2024, 1, 1)]})  # doctest: +SKIP
        """
        t = self.table(name)
        unknown = sorted(set(where) - set(t.columns))
        if unknown or not where:
            raise InputError("where", f"columns of {name}", unknown)
        before = self.count(name)
        if self.engine == "duckdb":
            sql, params = [], []
            for column, values in where.items():
                known = [v for v in values if v is not None]
                either = [f'"{column}" IN (SELECT unnest(?))'] if known else []
                either += [f'"{column}" IS NULL'] if len(known) < len(values) else []
                sql.append("(" + (" OR ".join(either) or "FALSE") + ")")
                params += [known] if known else []
            self.con.con.execute(f'DELETE FROM "{name}" WHERE ' + " AND ".join(sql), params)
        else:
            hit = functools.reduce(operator.and_, [_matches(t[c], v) for c, v in where.items()])
            self._rewrite_spark(name, t.filter(~hit))
        return before - self.count(name)

    def _rewrite_spark(self, name: str, kept: ibis.Table) -> None:
        """Replace the rows of `name` by `kept`, on the cluster: the kept rows go to a scratch table
        first (Spark cannot overwrite a table a query is reading), then back with INSERT OVERWRITE;
        nothing passes through this process."""
        scratch = f"_qm_keep_{uuid.uuid4().hex}"
        self.con.create_table(scratch, kept)
        try:
            self.con.raw_sql(f"INSERT OVERWRITE TABLE `{name}` SELECT * FROM `{scratch}`")
        finally:
            self.con.drop_table(scratch, force=True)
        self._core.pop(name, None)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing writes on DuckDB; on Spark each append is atomic per table."""
        if self.engine != "duckdb":
            yield
            return
        raw = self.con.con
        raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")

    def close(self) -> None:
        _remove_folders(self._temp_dirs)
        with contextlib.suppress(Exception):
            self.con.disconnect()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def _remove_folders(folders: list[Path]) -> None:
    import shutil

    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    folders.clear()


def _matches(column: ibis.Value, values: list[Any]) -> ibis.BooleanValue:
    """`column IN values`, never NULL; a None among the values matches NULL."""
    known = [v for v in values if v is not None]
    hit = column.isin(known).fill_null(False) if known else ibis.literal(False)
    return hit | column.isnull() if len(known) < len(values) else hit


def as_day(value: Any) -> Any:
    """A date from a date, a datetime or a pandas Timestamp."""
    return value.date() if isinstance(value, dt.datetime) else value  # pandas may give a Timestamp


def _microseconds(arrow: pa.Table) -> pa.Table:
    """Nanosecond timestamps (pandas' default) as microseconds: Spark cannot read the former from Parquet."""
    fields = [
        pa.field(f.name, pa.timestamp("us", f.type.tz), f.nullable) if pa.types.is_timestamp(f.type) and f.type.unit == "ns" else f
        for f in arrow.schema
    ]
    return arrow.cast(pa.schema(fields), safe=False)


URLS = "duckdb:///path/file.duckdb, spark:local[N], spark://host:port or sc://host:port"


def open_store(url: Any, options: SparkOptions) -> Store:
    """A `Store` over the engine `url` names, as it is (`qianmian.store.connect` also migrates it)."""
    if not isinstance(url, str):
        if type(url).__name__ == "SparkSession":
            return Store(ibis.pyspark.connect(url), "spark", "spark:session")
        raise InputError("store url", "a URL string or a SparkSession", type(url).__name__)
    if url.startswith("duckdb://"):
        return _open_duckdb(url)
    if url.startswith(("spark:", "sc://")):
        if url.startswith(("spark://", "sc://")):
            _check_host_port(url)
        return Store(ibis.pyspark.connect(spark_session(url, options)), "spark", url)
    raise InputError("store url", URLS, url)


def _check_host_port(url: str) -> None:
    host, _, port = url.split("://", 1)[1].partition("/")[0].partition(":")
    if not host or not port.isdigit():
        raise InputError("store url", URLS, url)


STORAGE_VERSION = "v1.5.0"
"""The DuckDB storage format of stores this version creates (an existing file keeps its own).

DuckDB writes its oldest readable format unless told otherwise; v1.5.0 adds the compression
methods that suit the events table's text columns (dictionary and FSST together): measured on
3M generated events, ingestion 13% faster, a group-by over user ids 20% faster, the file 3%
smaller. Only DuckDB 1.5 or newer can open such a file, which is what Qianmian requires anyway.
"""


def _open_duckdb(url: str) -> Store:
    path = url[len("duckdb://"):]
    if path in ("", "/", "/:memory:"):
        con = ibis.duckdb.connect(storage_compatibility_version=STORAGE_VERSION)
        con.con.execute("SET enable_progress_bar = false")
        return Store(con, "duckdb", url)
    file = Path(path[1:] if path.startswith("/") else path)
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = ibis.duckdb.connect(str(file), storage_compatibility_version=STORAGE_VERSION)
    except Exception as exc:
        raise StoreError(f"store url {url!r}: could not open DuckDB file {str(file)!r} ({exc})") from exc
    con.con.execute("SET enable_progress_bar = false")  # it would write to stdout, which --json owns
    return Store(con, "duckdb", url)


def spark_session(url: str, options: SparkOptions | str | Path | None = None) -> Any:
    """A SparkSession for `spark:local[N]`, `spark://host:port` or `sc://host:port`
    (see `qianmian.store.spark`); a path as `options` is a local store's folder."""
    if options is None or isinstance(options, SparkOptions):
        return spark.session(url, options)
    return spark.session(url, SparkOptions(folder=Path(options)))
