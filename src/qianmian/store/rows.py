"""The rows of a small query result as plain Python values, ready for JSON.

`Store.execute` gives pandas frames; reports, the API and the CLI hand their rows on as dicts.
"""

from __future__ import annotations

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of a small result as plain Python dicts (NaN → None, numpy scalars → Python, dates → ISO)."""
    out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{k: _plain(v) for k, v in row.items()} for row in out]


def _plain(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value
