"""One definition per number: every rate and count the reports, experiments, console and docs show.

Each `Term` has the name used as a column or JSON key, a label for people, the formula, one plain
sentence, and the unit that says how to print it (`count` of people → an integer, `share` → a
percentage, `money` → an amount in the store's currency). The funnel and the experiment metrics
compute what the formulas say (tests hold them to it), the console shows the formula as a tooltip
(`GET /v1/glossary`), and docs/metrics.md carries the same table (`markdown_table()`).

>>> TERMS["browse_conversion"].formula
'consumers who viewed and bought ÷ consumers who viewed'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final, Literal

from qianmian.errors import NotFoundError

Unit = Literal["count", "share", "money", "index", "number"]


@dataclass(frozen=True)
class Term:
    """A number the product shows: what it is called, how it is computed, what it means."""

    name: str
    label: str
    formula: str
    sentence: str
    unit: Unit
    where: str = ""
    lower_is_better: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


_T = Term
_LIST: Final[tuple[Term, ...]] = (
    # consumers counted over a period (funnel rates, experiment units)
    _T("visitors", "visitors", "consumers with any event other than expose",
       "People who did something on the shop (being shown an ad or a slot is not a visit).", "count", "funnel"),
    _T("viewers", "viewers", "consumers with a view", "People who looked at a product page.", "count", "funnel"),
    _T("buyers", "buyers", "consumers with a buy", "People who bought at least once.", "count", "funnel"),
    _T("viewer_buyers", "viewers who bought", "consumers with a view and a buy", "People who viewed a product and also bought.",
       "count", "funnel"),
    _T("sessions", "sessions", "session_id, else a new session after 30 minutes without an event",
       "Visits: a consumer's events close together in time.", "count", "funnel"),
    _T("viewed_sessions", "sessions with a view", "sessions with at least one view", "Visits that looked at a product.", "count", "funnel"),
    _T("bounces", "bounces", "sessions whose only event (expose aside) is one view", "Visits that left after one product page.",
       "count", "funnel"),
    _T("repeat_buyers", "repeat buyers", "buyers with 2 or more orders", "Buyers who came back and ordered again.", "count", "funnel"),
    _T("orders", "orders", "distinct order ids of buy events", "Checkouts (an event without an order id is an order of its own).",
       "count", "funnel"),
    _T("gmv", "GMV", "buy amount − return amount", "Money taken in purchases, minus what was refunded; anonymous buys count.",
       "money", "funnel, GROW, GTA"),
    # rates
    _T("visitor_conversion", "visitor conversion", "buyers ÷ visitors", "Of everyone who visited, the share who bought.",
       "share", "funnel, experiments"),
    _T("browse_conversion", "browse conversion", "consumers who viewed and bought ÷ consumers who viewed",
       "Of the people who viewed a product, the share who also bought (buyers who never viewed are left out, so it is at most 100%).",
       "share", "funnel, experiments"),
    _T("purchase_conversion", "purchase conversion", "exposed shoppers with a buy ÷ exposed shoppers",
       "Of the shoppers an experiment showed a page to, the share who bought in the attribution window.", "share", "experiments"),
    _T("click_through", "click-through", "exposed shoppers with a click ÷ exposed shoppers",
       "Of the shoppers shown the module, the share who clicked it.", "share", "experiments"),
    _T("bounce_rate", "bounce rate", "sessions whose only event (expose aside) is one view ÷ sessions with a view",
       "Of the visits that looked at a product, the share that left after that one page.", "share", "funnel, experiments",
       lower_is_better=True),
    _T("repurchase_rate", "repurchase rate", "repeat buyers ÷ buyers", "Of the buyers, the share who ordered twice or more.",
       "share", "funnel"),
    _T("aov", "AOV", "GMV ÷ orders", "Average order value, net of returns.", "money", "funnel"),
    _T("average_order_value", "average order value", "buy amount ÷ orders",
       "Average order value in an experiment's window (returns usually fall after the window, so they are not subtracted).",
       "money", "experiments"),
    _T("gmv_per_visitor", "GMV per visitor", "GMV ÷ visitors (in an experiment: ÷ exposed shoppers)",
       "Money each visitor brought in, counting the visitors who bought nothing.", "money", "funnel, experiments"),
    _T("revenue_capped", "GMV per visitor (capped at p99)", "mean of min(GMV per shopper, pooled 99th percentile)",
       "GMV per visitor with the few biggest spenders capped, so one whale does not decide the test.", "money", "experiments"),
    # funnel steps
    _T("step_rate", "step rate", "users(k) ÷ users(k − 1)", "Of the people who reached the previous step, the share who also reached this one.",
       "share", "funnel"),
    _T("overall_rate", "overall rate", "users(k) ÷ users(1)",
       "Of the people at the first step (viewers), the share who reached this step. 'buy' here is viewers who also carted or "
       "faved and bought, so it differs from visitor conversion (all buyers ÷ all visitors).", "share", "funnel"),
    # AIPL, FAST, GTA, TGI
    _T("share", "share", "consumers in the stage ÷ consumers holding any stage", "How the consumers holding a stage split across A, I, P, L.",
       "share", "AIPL"),
    _T("consumers", "consumers", "distinct user ids", "People, counted once each.", "count", "AIPL, lifecycle, RFM"),
    _T("deepening_rate", "deepening rate (FAST A)", "A/I/P consumers who moved to a higher stage ÷ A/I/P consumers at the start",
       "Of the consumers who could rise, the share who did.", "share", "FAST"),
    _T("active_rate", "active member rate (FAST T)", "members with a buy in the active window ÷ members",
       "Of the members, the share who bought recently.", "share", "FAST"),
    _T("conversion", "stage conversion (GTA)", "consumers of the stage who bought in the reference ÷ consumers of the stage",
       "Of the consumers who started the reference period in the stage, the share who bought during it.", "share", "GTA"),
    _T("value_per_buyer", "GMV per buyer (GTA)", "GMV of the stage's buyers ÷ the stage's buyers", "What one buyer of the stage spent.",
       "money", "GTA"),
    _T("gmv_share", "GMV share (GTA)", "GMV of the stage ÷ GMV of the reference", "The stage's part of the reference GMV.", "share", "GTA"),
    _T("tgi", "TGI", "share of the target with the value ÷ share of the reference with the value × 100",
       "How much more (above 100) or less (below 100) the target has the value than the reference.", "index", "TGI"),
    _T("support", "support", "baskets with the itemset ÷ baskets", "How common the combination is.", "share", "association"),
    _T("confidence", "confidence", "baskets with if and then ÷ baskets with if", "How often the 'then' follows the 'if'.", "share",
       "association"),
    _T("lift", "lift", "confidence ÷ support of then", "How much more often 'then' comes with 'if' than on its own (1 = no link).",
       "number", "association"),
    _T("srm_p", "SRM p-value", "χ² goodness of fit of units per variant against the planned weights",
       "A small p-value means the split of shoppers is not what was planned: the assignment or the logging is broken.",
       "number", "experiments"),
)

TERMS: Final[dict[str, Term]] = {t.name: t for t in _LIST}
"""Every term by name."""


def term(name: str) -> Term:
    """The term called `name`; a clear error listing the known names otherwise."""
    try:
        return TERMS[name]
    except KeyError:
        raise NotFoundError("glossary term", name) from None


def label(name: str) -> str:
    return term(name).label


def units() -> dict[str, Unit]:
    """Column name → unit, for printing tables."""
    return {t.name: t.unit for t in _LIST}


def as_list() -> list[dict[str, object]]:
    """Every term as a JSON-able dict, in a stable order (`GET /v1/glossary`)."""
    return [t.to_dict() for t in _LIST]


def markdown_table() -> str:
    """The glossary as a Markdown table (docs/metrics.md holds this exact text)."""
    lines = ["| name | label | formula | unit | where |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| `{t.name}` | {t.label} | {t.formula} | {t.unit} | {t.where} |" for t in _LIST]
    return "\n".join(lines)
