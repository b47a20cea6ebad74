"""`backorder-desk`: the one console script. Commands are thin; the work lives in services."""
from __future__ import annotations

import json
import sys
import time

import click

from plugin.config import ConfigError, load_settings


def _settings(**overrides):
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """Backorder Desk: backorders, ETAs and promises for Shopify and WooCommerce stores."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from plugin.db.migrate import upgrade

    settings = _settings()
    settings.ensure_instance()
    upgrade(settings.sqlalchemy_url)
    click.echo("database is at the latest schema")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="request threads")
@click.option("--demo", is_flag=True, help="run against the built-in dev store with a demo shop")
def serve(host: str, port: int, threads: int, demo: bool) -> None:
    """Serve the app with the worker and the scheduler in this one process (the embedded default)."""
    from plugin.server import serve_embedded

    serve_embedded(_settings(), host=host, port=port, threads=threads, demo=demo)


@main.command()
def worker() -> None:
    """Process the webhook inbox (scale-out: run several; web processes then run none)."""
    from plugin.background import run_worker_process
    from plugin.runtime import build_runtime
    from plugin.server import stop_on_signals

    runtime = build_runtime(_settings())
    run_worker_process(runtime, stop_on_signals())


@main.command()
def clock() -> None:
    """Run the schedule alone (scale-out: exactly one clock process)."""
    from plugin.jobs.schedule import build_scheduler
    from plugin.runtime import build_runtime

    runtime = build_runtime(_settings())
    build_scheduler(runtime, background=False).start()


def _shop_ids(runtime, domains: tuple[str, ...]) -> list[int] | None:
    """--shop DOMAIN (repeatable) -> shop ids; None means every installed shop."""
    if not domains:
        return None
    from sqlalchemy import select

    from plugin.db.models import Shop

    with runtime.db.session() as session:
        found = dict(session.execute(select(Shop.domain, Shop.id).where(Shop.domain.in_(domains))).all())
    missing = sorted(set(domains) - set(found))
    if missing:
        raise click.ClickException(f"no shop named {', '.join(missing)}")
    return list(found.values())


def _run_by_hand(job_name: str, work) -> None:
    """Run a scheduled job's work now, recorded as a JobRun like a scheduled run, with a progress bar."""
    from plugin.jobs.promises import JobFailures
    from plugin.jobs.runs import record_run
    from plugin.runtime import build_runtime

    runtime = build_runtime(_settings())
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if total < 2:
            return
        if bar is not None and (bar.length != total or done < bar.pos):  # the next shop's batches
            bar.__exit__(None, None, None)
            bar = None
        if bar is None:
            bar = click.progressbar(length=total, label=job_name, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    counts: dict = {}
    try:
        with record_run(runtime, job_name) as counts:
            work(runtime, counts, progress)
    except JobFailures as exc:
        raise click.ClickException(f"{job_name} finished with failures: {exc}")
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        click.echo(json.dumps(counts, default=str, sort_keys=True))
        runtime.close()


@main.command("sync-suppliers")
@click.option("--shop", "domains", multiple=True, help="shop domain (repeatable; default: every installed shop)")
@click.option("--supplier", "supplier_ids", multiple=True, type=int, help="supplier id (repeatable)")
@click.option("--due-only", is_flag=True, help="only feeds whose interval or cron is due (the schedule's rule)")
def sync_suppliers(domains: tuple[str, ...], supplier_ids: tuple[int, ...], due_only: bool) -> None:
    """Fetch supplier URL feeds now (and the stores' incoming shipments), with a report per feed."""
    from plugin.jobs.promises import sync_feeds

    def work(runtime, counts, progress):
        sync_feeds(runtime, counts, force=not due_only, shop_ids=_shop_ids(runtime, domains),
                   supplier_ids=list(supplier_ids) or None, progress=progress)

    _run_by_hand("supplier_feeds", work)


@main.command()
@click.option("--shop", "domains", multiple=True, help="shop domain (repeatable; default: every installed shop)")
@click.option("--changed-only", is_flag=True, help="only SKUs whose stock, supply or backorders changed")
def recompute(domains: tuple[str, ...], changed_only: bool) -> None:
    """Recompute backorder ETAs now (every open line unless --changed-only)."""
    from plugin.jobs.promises import recompute_etas

    def work(runtime, counts, progress):
        recompute_etas(runtime, counts, full=not changed_only, shop_ids=_shop_ids(runtime, domains), progress=progress)

    _run_by_hand("eta_recompute_all" if not changed_only else "eta_recompute", work)


@main.command("shopify-toml")
@click.option("--output", "-o", default="shopify.app.toml", show_default=True,
              type=click.Path(dir_okay=False, writable=True, allow_dash=True), help="where to write it ('-': standard output)")
def shopify_toml(output: str) -> None:
    """Write shopify.app.toml (what `shopify app deploy` releases) from manifest.json and the settings."""
    from pathlib import Path

    from connectors.shopify.app_toml import render_app_toml

    settings = _settings()
    if not settings.shopify_api_key:
        raise click.ClickException("SHOPIFY_API_KEY is not set: it is the app's client_id in shopify.app.toml")
    if settings.app_url.scheme != "https":
        raise click.ClickException(f"APP_URL must be the app's public https URL for Shopify (got {settings.public_url})")
    text = render_app_toml(settings)
    if output == "-":
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")


@main.group()
def demo() -> None:
    """Drive the demo shop of `make run`."""


@demo.command("order")
@click.option("--sku", required=True)
@click.option("--qty", "quantity", default=1, show_default=True, type=int)
@click.option("--email", default="shopper@example.com", show_default=True)
@click.option("--shop", default=None, help="demo shop domain (default: the seeded one)")
def demo_order(sku: str, quantity: int, email: str, shop: str | None) -> None:
    """Place an order in the dev store; it reaches the app as a signed webhook."""
    import httpx

    from plugin.devdemo import DEMO_SHOP, FAKE_MOUNT

    settings = _settings()
    url = f"{settings.public_url}{FAKE_MOUNT}/_devstore/orders"
    try:
        response = httpx.post(url, json={"shop": shop or DEMO_SHOP, "sku": sku, "quantity": quantity, "email": email},
                              timeout=30)
    except httpx.TransportError as exc:
        raise click.ClickException(f"cannot reach the app at {settings.public_url} ({exc}); is `make run` running?")
    if response.status_code >= 400:
        raise click.ClickException(f"the dev store refused the order: {response.status_code} {response.text[:300]}")
    order = response.json()
    click.echo(f"placed {order['name']} ({order['id']}): {quantity} x {sku}; webhook answered {order.get('webhookStatus')}")
    # The app works asynchronously (inbox -> worker); show what it wrote back once it has.
    number = order["id"].rsplit("/", 1)[-1]
    status_url = f"{settings.public_url}{FAKE_MOUNT}/_devstore/shops/{shop or DEMO_SHOP}/orders/{number}"
    for _ in range(40):
        time.sleep(0.25)
        seen = httpx.get(status_url, timeout=10).json()
        if seen.get("metafields"):
            break
    click.echo(json.dumps({"tags": seen.get("tags"), "metafields": seen.get("metafields")}, indent=2))
    if not seen.get("metafields"):
        click.echo("no backorder was written (enough stock, or the worker has not caught up yet)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
