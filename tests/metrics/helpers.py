"""Helpers for the metrics tests: raw SQL on either engine, tiny event frames built in code."""

from __future__ import annotations

import pandas as pd


def run_sql(store, sql: str) -> list[tuple]:
    """Run hand-written SQL directly on the engine (no Ibis), rows as tuples."""
    if store.engine == "duckdb":
        return [tuple(r) for r in store.con.con.sql(sql).fetchall()]
    return [tuple(r) for r in store.con._session.sql(sql).collect()]


def events_frame(rows: list[tuple], columns: tuple[str, ...] = ("user_id", "behavior", "ts")) -> pd.DataFrame:
    """Events from short tuples; event ids are generated, `ts` parsed."""
    df = pd.DataFrame(rows, columns=list(columns))
    df.insert(0, "event_id", [f"e{i}" for i in range(len(df))])
    df["ts"] = pd.to_datetime(df["ts"])
    return df
