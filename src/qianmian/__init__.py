"""Qianmian (千面): consumer operations and personalization for e-commerce brands."""

__version__ = "0.1.0"
