"""Storefront ETAs reach the store as app-owned variant metafields: 25 a call, only what changed."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from plugin.db.models import Shop, Variant
from plugin.storefront.push import push_storefront_etas, storefront_digest
from tests.flow_helpers import install_shop

SHOP = "storefront.myshopify.com"
PROMISE = date(2026, 12, 15)


@pytest.fixture
def shop(runtime, fake_shopify):
    fake_shopify.create_shop(SHOP)
    variants = []
    for n in range(30):
        product = fake_shopify.add_product(SHOP, f"Lamp {n}", variants=[
            {"sku": f"LAMP-{n}", "price": "10.00", "tracked": True, "policy": "CONTINUE", "available": 0}])
        variants.append(product["variants"][0]["id"])
    install_shop(runtime, fake_shopify, SHOP)
    with runtime.db.session() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP)).one()
    with runtime.db.shop_session(shop_id) as session:
        for n, gid in enumerate(variants):
            session.add(Variant(shop_id=shop_id, platform_variant_id=gid.rsplit("/", 1)[1], sku=f"LAMP-{n}",
                                continue_selling=True, sellable_quantity=0, eta_dirty=False))
    return shop_id, variants


def promise(runtime, shop_id, skus, when: date | None) -> None:
    """What the recompute leaves on a variant when its next-unit promise changes."""
    with runtime.db.shop_session(shop_id) as session:
        for variant in session.scalars(select(Variant).where(Variant.sku.in_(skus))):
            earliest = when - timedelta(days=3) if when else None
            latest = when + timedelta(days=4) if when else None
            variant.next_eta_promise, variant.next_eta_earliest = when, earliest
            variant.next_eta_likely, variant.next_eta_latest = when, latest
            variant.storefront_digest = storefront_digest(when, earliest, when, latest)
            variant.storefront_dirty = variant.storefront_digest != variant.storefront_pushed_digest


def store_value(fake_shopify, gid) -> dict | None:
    key = (f"app--{fake_shopify.api_client_id}", "backorder_eta")
    found = fake_shopify.variant_metafields(SHOP, gid).get(key)
    return json.loads(found["value"]) if found else None


def writes(fake_shopify, since: int) -> list[dict]:
    return [c for c in fake_shopify.calls[since:] if c["operation"] in ("VariantEtasSet", "VariantEtasDelete")]


def test_changed_etas_are_written_25_a_call_and_only_once(runtime, fake_shopify, shop):
    shop_id, variants = shop
    promise(runtime, shop_id, [f"LAMP-{n}" for n in range(30)], PROMISE)
    before = len(fake_shopify.calls)
    counts = push_storefront_etas(runtime, shop_id)
    assert (counts["set"], counts["calls"]) == (30, 2)
    assert len(writes(fake_shopify, before)) == 2
    value = store_value(fake_shopify, variants[7])
    assert {k: value[k] for k in ("promise", "earliest", "likely", "latest")} == {
        "promise": "2026-12-15", "earliest": "2026-12-12", "likely": "2026-12-15", "latest": "2026-12-19"}
    assert value["label"] == "Ships by Dec 15, 2026" and value["updated_at"].endswith("Z")

    # Nothing changed: no write at all. The same dates again (a recompute): still nothing.
    before = len(fake_shopify.calls)
    promise(runtime, shop_id, ["LAMP-3"], PROMISE)
    assert push_storefront_etas(runtime, shop_id)["calls"] == 0
    assert writes(fake_shopify, before) == []

    # One variant's date moves, another is back in stock: one set and one delete.
    promise(runtime, shop_id, ["LAMP-3"], PROMISE + timedelta(days=5))
    promise(runtime, shop_id, ["LAMP-4"], None)
    counts = push_storefront_etas(runtime, shop_id)
    assert (counts["set"], counts["cleared"], counts["calls"]) == (1, 1, 2)
    assert store_value(fake_shopify, variants[3])["promise"] == "2026-12-20"
    assert store_value(fake_shopify, variants[4]) is None
    with runtime.db.shop_session(shop_id) as session:
        assert session.scalars(select(Variant.id).where(Variant.storefront_dirty.is_(True))).all() == []


def test_a_failed_batch_is_retried_and_the_written_ones_are_not(runtime, fake_shopify, shop):
    shop_id, variants = shop
    promise(runtime, shop_id, [f"LAMP-{n}" for n in range(30)], PROMISE)
    connector = runtime.connector("shopify")
    real = connector.set_variant_etas
    calls = {"n": 0}

    def second_call_fails(shop_row, items):
        calls["n"] += 1
        if calls["n"] == 2:
            from connectors.base import ConnectorError
            raise ConnectorError("Shopify did not answer")
        return real(shop_row, items)

    connector.set_variant_etas = second_call_fails
    try:
        with pytest.raises(Exception, match="did not answer"):
            push_storefront_etas(runtime, shop_id)
    finally:
        connector.set_variant_etas = real
    with runtime.db.shop_session(shop_id) as session:
        dirty = session.scalars(select(Variant.id).where(Variant.storefront_dirty.is_(True))).all()
    assert len(dirty) == 5  # the first 25 are recorded as written
    counts = push_storefront_etas(runtime, shop_id)
    assert (counts["set"], counts["calls"]) == (5, 1)


def test_a_value_that_moves_while_it_is_written_stays_dirty(runtime, fake_shopify, shop):
    shop_id, variants = shop
    promise(runtime, shop_id, ["LAMP-0"], PROMISE)
    connector = runtime.connector("shopify")
    real = connector.set_variant_etas

    def recompute_meanwhile(shop_row, items):
        real(shop_row, items)
        promise(runtime, shop_id, ["LAMP-0"], PROMISE + timedelta(days=9))

    connector.set_variant_etas = recompute_meanwhile
    try:
        push_storefront_etas(runtime, shop_id)
    finally:
        connector.set_variant_etas = real
    assert store_value(fake_shopify, variants[0])["promise"] == "2026-12-15"
    assert push_storefront_etas(runtime, shop_id)["set"] == 1
    assert store_value(fake_shopify, variants[0])["promise"] == "2026-12-24"


def test_the_fake_store_deletes_like_shopify(runtime, fake_shopify, shop):
    from connectors.shopify import operations as ops

    shop_id, variants = shop
    connector = runtime.connector("shopify")
    with runtime.db.session() as session:
        shop_row = session.get(Shop, shop_id)
        session.expunge(shop_row)
    # Deleting a metafield that does not exist is not an error (its slot is null).
    connector.clear_variant_etas(shop_row, [variants[0].rsplit("/", 1)[1]])
    with pytest.raises(ValueError, match="at most 25"):
        connector.set_variant_etas(shop_row, [(v, "{}") for v in variants[:26]])
    answer = connector.graphql(shop_row).execute(ops.VARIANT_ETAS_DELETE, {"metafields": [
        {"ownerId": variants[0], "namespace": "$app", "key": f"key{n}"} for n in range(26)]})
    assert answer["metafieldsDelete"]["userErrors"][0]["message"] == "Exceeded the maximum metafields input limit of 25."
