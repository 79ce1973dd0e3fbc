"""Hillstrom's e-mail test (64,000 customers) for the uplift tests, and the fit they share."""

from __future__ import annotations

import pytest

HILLSTROM_FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
HILLSTROM_RFM = {"recency_days": "recency", "monetary": "history"}
CONTROL = "No E-Mail"


def hillstrom_columns(outcome: str, treated: list[str] | None) -> dict:
    return {"treatment": "segment", "outcome": outcome, "control": CONTROL, "treated": treated,
            "features": HILLSTROM_FEATURES, "rfm": HILLSTROM_RFM}


@pytest.fixture(scope="session")
def womens_visit(hillstrom):
    """Womens e-mail vs no e-mail, outcome visit: the X-learner fit every consumer is scored by."""
    from qianmian.uplift.fit import FitOptions, fit_file

    return fit_file(str(hillstrom), options=FitOptions(n_boot=200), **hillstrom_columns("visit", ["Womens E-Mail"]))
