"""Consumer-asset analytics: AIPL and its flow, FAST, GROW, GTA, TGI, funnels, lifecycle, RFM, association.

Each module builds Ibis expressions (pure functions of tables and explicit arguments) and offers a
thin `*_report(store, ...)` that executes them and returns a JSON-friendly result.
Definitions and formulas: docs/metrics.md.
"""
