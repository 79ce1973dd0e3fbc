"""The `qianmian` command. Each module in `COMMAND_MODULES` adds its commands with `register(app)`."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="qianmian",
    help="Qianmian (千面): consumer operations and personalization for e-commerce brands.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

COMMAND_MODULES = [
    "qianmian.cli.data",
    "qianmian.cli.serve",
    "qianmian.cli.keys",
    "qianmian.cli.report",
    "qianmian.cli.experiment",
    "qianmian.cli.recommend",
    "qianmian.cli.audience",
    "qianmian.cli.export",
    "qianmian.cli.uplift",
    "qianmian.cli.cluster",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()
