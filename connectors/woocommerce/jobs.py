"""The scheduled job that gives a newly connected WooCommerce store its first import.

Webhooks bring what happens after connecting, and reconciliation looks back only a window; the
orders already waiting in the store come from `initial_sync.import_store`, run once per install
(each shop's run recorded as a `woocommerce_import_shop` job run; a failed one is tried again on
the next tick). Declared in plugin/jobs/schedule.py.
"""
from __future__ import annotations

from typing import Any


def import_new_stores(runtime, counts: dict[str, Any]) -> None:
    from sqlalchemy import select

    from connectors.woocommerce.initial_sync import import_store
    from connectors.woocommerce.manifest import PLATFORM
    from plugin.db.models import JobRun, Shop
    from plugin.jobs.runs import record_run

    with runtime.db.session() as session:
        shops = session.execute(select(Shop.id, Shop.domain, Shop.installed_at).where(
            Shop.platform == PLATFORM, Shop.status == "installed")).all()
        done = {row.shop_id: row.started for row in session.execute(
            select(JobRun.shop_id, JobRun.started_at.label("started")).where(
                JobRun.job_name == "woocommerce_import_shop", JobRun.status == "ok"))}
    due = [shop for shop in shops if shop.id not in done or (shop.installed_at and done[shop.id] < shop.installed_at)]
    counts.update(shops=0, orders_recorded=0, errors=0)
    failures = []
    for shop in due:
        try:
            with record_run(runtime, "woocommerce_import_shop", shop.id) as shop_counts:
                result = import_store(runtime, shop.id)
                shop_counts.update(orders_seen=result["orders_seen"], orders_recorded=result["orders_recorded"],
                                   variants_seen=result["catalog"]["variants_seen"])
        except Exception:  # recorded by record_run; the other stores still go
            counts["errors"] += 1
            failures.append(shop.domain)
            continue
        counts["shops"] += 1
        counts["orders_recorded"] += result["orders_recorded"]
    if failures:
        raise RuntimeError("first import failed for " + ", ".join(failures))
