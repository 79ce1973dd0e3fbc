"""Offline evaluation: protocols R1 (Online Retail II) and R2 (Taobao category layers), metrics,
the peers from `implicit`, and the harness that tunes every method on the same validation split.
"""
