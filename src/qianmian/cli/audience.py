"""`qianmian audience …`, `qianmian crowds` and `qianmian tags …`: audiences from the command line."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import typer

from qianmian.cli.common import (
    JsonOption,
    StoreOption,
    console,
    err_console,
    errors_to_exit,
    open_store,
    print_json,
    print_table,
    warn,
    warn_past_data,
    working,
)

app = typer.Typer(help="Audiences (人群): rules, previews, materialized membership, templates.", no_args_is_help=True)
tags_app = typer.Typer(help="Self-tags consumers declare (budget, unscented, vegan …).", no_args_is_help=True)
AsOfOption = typer.Option(..., "--as-of", help="Date (YYYY-MM-DD), included to the end of the day")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audience")
    root.add_typer(tags_app, name="tags")
    root.command("crowds")(crowds)


@contextlib.contextmanager
def _rule_errors() -> Iterator[None]:
    """Show a bad rule with a caret under the problem, then exit 2 like any other error."""
    from qianmian.audiences import RuleError

    try:
        with errors_to_exit():
            yield
    except typer.Exit as exc:
        cause = exc.__cause__
        if isinstance(cause, RuleError):
            err_console.print(cause.caret(), highlight=False, markup=False)
        raise


def _rule_warnings(registry, name_or_rule: str) -> list[dict]:
    """Warnings for a rule (or saved audience) that names a trait or trait value no consumer has;
    each is also printed on stderr (stdout stays one JSON document with --json)."""
    from qianmian.audiences import check
    from qianmian.audiences.rules.hints import rule_warnings

    text = registry.get(name_or_rule).rule if registry.exists(name_or_rule) else name_or_rule
    found = rule_warnings(registry.store, check(text, audience_exists=registry.exists), text)
    for w in found:
        warn(w.message)
    return [w.to_dict() for w in found]


def _registry(store: str | None):
    from qianmian.audiences import AudienceRegistry

    return AudienceRegistry(open_store(store))


@app.command()
def create(
    name: str = typer.Argument(..., help="Audience name (letters, digits, _ or -)"),
    rule: str = typer.Option(..., "--rule", help='Rule, e.g. lifecycle in ("silent", "churning") and monetary(365d) > 500'),
    priority: int = typer.Option(100, "--priority", help="Smaller comes first when a consumer is in several audiences"),
    description: str = typer.Option("", "--description", help="What the audience is for"),
    replace: bool = typer.Option(False, "--replace", help="Save a new version of an existing audience"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Check a rule and save it as an audience (a bad rule changes nothing)."""
    with _rule_errors():
        registry = _registry(store)
        audience = registry.create(name, rule, priority=priority, description=description, replace=replace)
        warnings = _rule_warnings(registry, rule)
    if json:
        print_json({**audience.to_dict(), "warnings": warnings})
        return
    console.print(f"saved [bold]{audience.name}[/bold] v{audience.version} (priority {audience.priority})")
    console.print(audience.sentence(), highlight=False)


@app.command("list")
def list_(store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """Current audiences, by priority."""
    with errors_to_exit():
        audiences = _registry(store).list()
    if json:
        print_json([a.to_dict() for a in audiences])
        return
    print_table("audiences", [{"priority": a.priority, "name": a.name, "version": a.version, "rule": a.rule} for a in audiences])


@app.command()
def show(
    name: str = typer.Argument(...),
    version: int | None = typer.Option(None, "--version", help="An earlier version"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """One audience: rule, plain sentence and its versions."""
    with errors_to_exit():
        registry = _registry(store)
        audience = registry.get(name, version=version)
        history = registry.history(name)
    out = {**audience.to_dict(), "versions": [h.version for h in history]}
    if json:
        print_json(out)
        return
    for key in ("name", "version", "priority", "description", "rule", "sentence", "versions", "created_at"):
        console.print(f"[bold]{key}[/bold]: {out[key]}", highlight=False)


@app.command()
def preview(
    name_or_rule: str = typer.Argument(..., help="A saved audience or a rule text"),
    as_of: str = AsOfOption,
    sample: int = typer.Option(10, "--sample", help="How many member ids to show"),
    seed: int = typer.Option(0, "--seed", help="Which sample (same seed, same sample)"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Size, share of all consumers and a sample of members as of a date."""
    with _rule_errors():
        registry = _registry(store)
        warnings = _rule_warnings(registry, name_or_rule)
        warn_past_data(registry.store, as_of)
    with _rule_errors(), working("counting members", json):
        from qianmian.audiences.membership import preview_audience

        result = preview_audience(registry, name_or_rule, as_of=as_of, sample=sample, random_state=seed)
    if json:
        print_json({**result.to_dict(), "warnings": warnings})
        return
    share = f"{result.share:.2%}" if result.share is not None else "n/a"
    console.print(f"{result.size:,} of {result.total:,} consumers ({share}) as of {result.as_of}")
    console.print("sample: " + ", ".join(result.sample), highlight=False)


@app.command()
def explain(
    name_or_rule: str = typer.Argument(..., help="A saved audience or a rule text"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Check a rule and read it back as canonical rule text and a plain sentence."""
    from qianmian.audiences import check, to_sentence, to_text

    with _rule_errors():
        registry = _registry(store)
        rule = registry.get(name_or_rule).rule if registry.exists(name_or_rule) else name_or_rule
        tree = check(rule, audience_exists=registry.exists)
        warnings = _rule_warnings(registry, rule)
    out = {"rule": to_text(tree), "sentence": to_sentence(tree), "warnings": warnings}
    if json:
        print_json(out)
        return
    console.print(out["rule"], highlight=False)
    console.print(out["sentence"], highlight=False)


@app.command()
def delete(name: str = typer.Argument(...), store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """Delete an audience (its versions stay in the history)."""
    with errors_to_exit():
        audience = _registry(store).delete(name)
    if json:
        print_json({"deleted": audience.name, "version": audience.version})
        return
    console.print(f"deleted {audience.name} (last version {audience.version})")


@app.command()
def materialize(
    as_of: str = AsOfOption,
    names: list[str] | None = typer.Option(None, "--name", help="Only these audiences (repeat the option)"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Compute and store the members of every audience as of a date (for the storefront's lookups)."""
    from qianmian.audiences import materialize as run

    with errors_to_exit():
        opened = open_store(store)
        warn_past_data(opened, as_of)
    with errors_to_exit(), working("materializing audiences", json):
        result = run(opened, as_of, names=names or None)
    if json:
        print_json(result.to_dict())
        return
    print_table(f"members as of {result.as_of}", [{"audience": k, "members": v} for k, v in result.counts.items()])


@app.command()
def template(
    name: str = typer.Argument(..., help="nestle, nivea or zara"),
    as_of: str = AsOfOption,
    save: bool = typer.Option(False, "--apply", help="Save the proposed audiences"),
    replace: bool = typer.Option(False, "--replace", help="With --apply: new versions of existing ones"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Propose (and with --apply save) the audiences of a seed template on this store's categories."""
    from dataclasses import asdict

    from qianmian.audiences import AudienceRegistry
    from qianmian.audiences.templates import apply
    from qianmian.audiences.templates import template as build

    with _rule_errors():
        s = open_store(store)
        drafts = build(name, s, as_of=as_of)
        if save:
            apply(AudienceRegistry(s), drafts, replace=replace)
    if json:
        print_json({"template": name, "applied": save, "audiences": [asdict(d) for d in drafts]})
        return
    print_table(f"template {name}" + (" (saved)" if save else ""), [
        {"priority": d.priority, "name": d.name, "description": d.description, "rule": d.rule} for d in drafts
    ])


def crowds(
    k: int | None = typer.Option(None, "--k", help="Number of crowds (default: chosen by silhouette)"),
    as_of: str = AsOfOption,
    seed: int = typer.Option(0, "--seed", help="Consumer sample seed (used with --sample)"),
    sample: int | None = typer.Option(None, "--sample", help="Cluster a sample of this many consumers"),
    chart: Path | None = typer.Option(None, "--chart", help="Also draw the crowds: FILE.png or FILE.html"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Brand strategy crowds: micro-groups re-clustered by category preference (TGI)."""
    from qianmian.audiences.crowds import crowds as run

    with errors_to_exit(), working("clustering consumers", json):
        result = run(open_store(store), as_of=as_of, k=k, sample=sample, random_state=seed).to_dict()
        if chart is not None:
            from qianmian import charts
            from qianmian.charts.crowds import crowd_chart

            charts.save(crowd_chart(result, title=f"Strategy crowds as of {result['as_of']}"), chart, title="Strategy crowds")
    if json:
        print_json(result)
        return
    console.print(f"{result['k']} crowds over {result['consumers']:,} consumers in {result['micro_groups']} micro-groups "
                  f"(silhouette {result['quality']:.3f}; {result['unclustered']:,} unclustered)")
    print_table("crowds", [{
        "crowd": c["crowd"], "name": c["name"], "size": c["size"],
        "top TGI": ", ".join(f"{t['category']} {t['tgi']:.0f}" for t in c["top_categories"]),
        "AIPL P/L": f"{c['aipl']['P']:.0%}/{c['aipl']['L']:.0%}", "value/consumer": c["value_mean"],
    } for c in result["crowds"]])
    if chart is not None:
        err_console.print(f"chart written to {chart}", highlight=False)


@tags_app.command("set")
def set_(
    user: str = typer.Argument(..., help="Consumer id"),
    tags: list[str] = typer.Argument(..., help="Tags, e.g. budget unscented"),
    source: str = typer.Option("self", "--source", help="Who set them: self, guide, import …"),
    at: str | None = typer.Option(None, "--at", help="When (ISO datetime); default: now"),
    replace: bool = typer.Option(False, "--replace", help="Remove the consumer's other tags"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Record tags a consumer declared; prints the consumer's active tags."""
    from qianmian.consumers.tags import set_tags

    with errors_to_exit():
        when = _when(at)
        active = set_tags(open_store(store), user, tags, source=source, ts=when, replace=replace)
    if json:
        print_json({"user_id": user, "tags": active, "ts": when})
        return
    console.print(f"{user}: {', '.join(active) or '(no tags)'}", highlight=False)


@tags_app.command("show")
def show_tags(user: str = typer.Argument(...), store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """A consumer's active self-tags."""
    from qianmian.consumers.tags import active_tags

    with errors_to_exit():
        active = active_tags(open_store(store), user)
    if json:
        print_json({"user_id": user, "tags": active})
        return
    console.print(f"{user}: {', '.join(active) or '(no tags)'}", highlight=False)


def _when(at: str | None) -> dt.datetime:
    from qianmian.errors import InputError

    if at is None:
        return dt.datetime.now().replace(microsecond=0)  # a declaration's own time, recorded as it happens
    try:
        return dt.datetime.fromisoformat(at)
    except ValueError as exc:
        raise InputError("--at", "an ISO datetime such as 2024-03-01T10:00", at) from exc
