"""The dev store's Admin GraphQL endpoint: the app's documents, validation, mutations, paging."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
import shopify_app

from connectors.shopify.devstore import FakeShopify
from connectors.shopify.operations import ALL_OPERATIONS, BULK_QUERIES

KEY = "devstore-test-key"
SECRET = "devstore-test-secret-0123456789abcdef"
SHOP = "oak-and-linen.myshopify.com"


@pytest.fixture
def world():
    """A shop with two locations, a backorderable lamp and a DENY rug, one order placed."""
    received = []
    fake = FakeShopify(KEY, SECRET, deliver=lambda url, headers, body: received.append((headers, body)) or 200)
    fake.create_shop(SHOP, locations=("Main warehouse", "Overflow"))
    lamp = fake.add_product(SHOP, "Linen lamp", [
        {"sku": "LAMP-S", "title": "Small", "price": "79.00", "policy": "CONTINUE", "available": {"Main warehouse": 1,
                                                                                                  "Overflow": 4}}])
    rug = fake.add_product(SHOP, "Wool rug", [{"sku": "RUG", "price": "259.00", "policy": "DENY", "available": 5}])
    token = fake.issue_access_token(SHOP)["access_token"]
    order = fake.place_order(SHOP, [(lamp["variants"][0]["id"], 3), (rug["variants"][0]["id"], 1)])
    shipment = fake.add_inventory_shipment(SHOP, [(lamp["variants"][0]["id"], 6)], arrives_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
    http = httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app))

    def gql(query, variables=None, access_token=token):
        response = http.post(f"https://{SHOP}/admin/api/2026-10/graphql.json",
                             json={"query": query, "variables": variables or {}},
                             headers={"X-Shopify-Access-Token": access_token})
        return response.status_code, response.json()

    return {"fake": fake, "lamp": lamp["variants"][0]["id"], "rug": rug["variants"][0]["id"], "order": order,
            "shipment": shipment["id"],
            "token": token, "http": http, "gql": gql, "received": received}


def _started_bulk_operation(world) -> str:
    status, body = world["gql"](ALL_OPERATIONS["CatalogBulkRun"], {"query": BULK_QUERIES["CatalogBulk"]})
    return body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]


def variables_for(name, world):
    if name == "BulkOperationStatus":  # it polls an operation, so one must exist
        world.setdefault("bulk_operation", _started_bulk_operation(world))
    return {
        "ShopInfo": {},
        "VariantInventory": {"ids": [world["lamp"], world["rug"]]},
        "CatalogSize": {"limit": 2000},
        "CatalogVariants": {"first": 25, "after": None},
        "VariantInventoryLevels": {"id": world["lamp"], "first": 250, "after": None},
        "CatalogBulkRun": {"query": BULK_QUERIES["CatalogBulk"]},
        "BulkOperationStatus": {"id": world.get("bulk_operation")},
        "RecentBulkQueries": {},
        "OrderTagsAdd": {"id": world["order"]["id"], "tags": ["backorder"]},
        "OrderMetafieldsSet": {"metafields": [{"ownerId": world["order"]["id"], "namespace": "$app",
                                               "key": "backorder_etas", "type": "json", "value": "{\"LAMP-S\": null}"}]},
        "RecentOrders": {"first": 50, "after": None, "query": None},
        "OrdersUpdatedSince": {"first": 25, "after": None, "query": "updated_at:>='2020-01-01T00:00:00Z'"},
        "OrderLineItems": {"id": world["order"]["id"], "first": 250, "after": None},
        "IncomingShipments": {"first": 25, "after": None, "query": "status:in_transit OR status:partially_received"},
        "InventoryShipmentLineItems": {"id": world["shipment"], "first": 250, "after": None},
        "InventoryShipmentsById": {"ids": [world["shipment"]]},
        "VariantEtasSet": {"metafields": [{"ownerId": world["lamp"], "namespace": "$app", "key": "backorder_eta",
                                           "type": "json", "value": "{\"promise\": \"2026-12-15\"}"}]},
        "VariantEtasDelete": {"metafields": [{"ownerId": world["lamp"], "namespace": "$app", "key": "backorder_eta"}]},
        "RefundOrderState": {"id": world["order"]["id"]},
        "RefundOrderLineItems": {"id": world["order"]["id"], "first": 250, "after": None},
        "SuggestedLineRefund": {"id": world["order"]["id"], "refundShipping": False, "refundLineItems": [
            {"lineItemId": world["order"]["lineItems"][0]["id"], "quantity": 1, "restockType": "NO_RESTOCK"}]},
        "RefundLineCreate": {"idempotencyKey": "9b0a7c3e-5f1d-4e2a-8c6b-1d2e3f4a5b6c", "input": {
            "orderId": world["order"]["id"], "notify": False, "refundLineItems": [
                {"lineItemId": world["order"]["lineItems"][0]["id"], "quantity": 1, "restockType": "NO_RESTOCK"}]}},
    }[name]


@pytest.mark.parametrize("name", sorted(ALL_OPERATIONS))
def test_every_app_operation_runs_through_shopify_app(world, name):
    result = shopify_app.admin_graphql_request(
        ALL_OPERATIONS[name], shop="oak-and-linen", access_token=world["token"], api_version="2026-10",
        variables=variables_for(name, world), http_client=world["http"])
    assert result.ok, result.response.body
    assert result.data and all(value is not None for value in result.data.values())
    assert result.extensions["cost"]["requestedQueryCost"] >= 1
    assert world["fake"].calls[-1]["operation"] == name


def test_variant_inventory_reports_per_location_quantities(world):
    status, body = world["gql"](ALL_OPERATIONS["VariantInventory"], {"ids": [world["lamp"], world["rug"]]})
    lamp, rug = body["data"]["nodes"]
    assert lamp["sku"] == "LAMP-S" and lamp["inventoryPolicy"] == "CONTINUE"
    assert lamp["displayName"] == "Linen lamp - Small" and lamp["inventoryItem"]["tracked"] is True
    levels = [edge["node"] for edge in lamp["inventoryItem"]["inventoryLevels"]["edges"]]
    # The order took 3 at the first location: 1 - 3 = -2 (a backorder); Overflow untouched.
    assert [lvl["quantities"] for lvl in levels] == [[{"name": "available", "quantity": -2}],
                                                      [{"name": "available", "quantity": 4}]]
    assert rug["inventoryPolicy"] == "DENY"
    assert rug["inventoryItem"]["inventoryLevels"]["edges"][0]["node"]["quantities"][0]["quantity"] == 4


def test_invalid_document_is_rejected_and_not_executed(world):
    before = world["fake"].bucket(SHOP).available()
    status, body = world["gql"]("""
        mutation OrderTagsAdd($id: ID!, $tags: [String!]!) {
          tagsAdd(id: $id, tags: $tags) { node { id } userErros { field } }
        }""", {"id": world["order"]["id"], "tags": ["must-not-land"]})
    assert status == 200 and "data" not in body and "extensions" not in body
    assert body["errors"] == [{
        "message": "Field 'userErros' doesn't exist on type 'TagsAddPayload'",
        "locations": [{"line": 3, "column": 55}],
        "path": ["mutation OrderTagsAdd", "tagsAdd", "userErros"],
        "extensions": {"code": "undefinedField", "typeName": "TagsAddPayload", "fieldName": "userErros"}}]
    assert world["fake"].order(SHOP, world["order"]["id"])["tags"] == []
    assert world["fake"].bucket(SHOP).available() == before


def test_syntax_error_and_missing_selection(world):
    status, body = world["gql"]("query { shop { id }")
    assert status == 200 and body["errors"][0]["extensions"] == {"code": "PARSE_ERROR"}
    assert body["errors"][0]["message"].startswith("syntax error, ")
    status, body = world["gql"]("query Q { shop }")
    assert body["errors"][0]["extensions"]["code"] == "selectionMismatch"


def test_missing_variable_is_invalid_variable(world):
    status, body = world["gql"](ALL_OPERATIONS["OrderTagsAdd"], {"tags": ["x"]})
    error = body["errors"][0]
    assert error["message"] == "Variable $id of type ID! was provided invalid value"
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["extensions"]["problems"] == [{"path": [], "explanation": "Expected value to not be null"}]


def test_unimplemented_root_field_says_so(world):
    status, body = world["gql"]("{ customers(first: 1) { nodes { id } } }")
    assert body["errors"][0]["message"] == "fake Shopify does not implement customers"
    assert body["data"] is None


def test_unknown_version_and_unknown_shop_are_404(world):
    response = world["http"].post(f"https://{SHOP}/admin/api/2019-04/graphql.json", json={"query": "{shop{id}}"},
                                  headers={"X-Shopify-Access-Token": world["token"]})
    assert response.status_code == 404
    response = world["http"].post("https://nobody.myshopify.com/admin/api/2026-10/graphql.json",
                                  json={"query": "{shop{id}}"}, headers={"X-Shopify-Access-Token": world["token"]})
    assert response.status_code == 404


def test_tags_add_is_idempotent_and_triggers_orders_updated(world):
    fake, gql, order_id = world["fake"], world["gql"], world["order"]["id"]
    for tags in (["backorder", "eta:2026-12-01"], ["Backorder", "backorder, eta:2026-12-01"]):
        status, body = gql(ALL_OPERATIONS["OrderTagsAdd"], {"id": order_id, "tags": tags})
        assert body["data"]["tagsAdd"] == {"node": {"id": order_id}, "userErrors": []}
    assert fake.order(SHOP, order_id)["tags"] == ["backorder", "eta:2026-12-01"]
    # Shopify sends orders/updated asynchronously; the dev store queues it until flushed.
    assert fake.pending_webhooks == [(SHOP, "orders/updated", order_id)]
    assert fake.flush_webhooks() == [200]
    headers, body = world["received"][-1]
    assert headers["X-Shopify-Topic"] == "orders/updated"
    assert json.loads(body)["tags"] == "backorder, eta:2026-12-01"


def test_tags_add_on_a_missing_order_is_a_user_error(world):
    status, body = world["gql"](ALL_OPERATIONS["OrderTagsAdd"], {"id": "gid://shopify/Order/1", "tags": ["x"]})
    assert body["data"]["tagsAdd"] == {"node": None, "userErrors": [{"field": ["id"], "message": "Order does not exist"}]}


def test_metafields_set_resolves_app_namespace(world):
    fake, order_id = world["fake"], world["order"]["id"]
    status, body = world["gql"](ALL_OPERATIONS["OrderMetafieldsSet"], variables_for("OrderMetafieldsSet", world))
    [written] = body["data"]["metafieldsSet"]["metafields"]
    assert written["namespace"] == f"app--{fake.api_client_id}" and written["key"] == "backorder_etas"
    assert fake.order(SHOP, order_id)["metafields"] == [{
        "namespace": f"app--{fake.api_client_id}", "key": "backorder_etas", "type": "json",
        "value": "{\"LAMP-S\": null}"}]
    status, body = world["gql"](f'{{ order(id: "{order_id}") {{ metafield(namespace: "$app", key: "backorder_etas") '
                                '{ jsonValue type } } }')
    assert body["data"]["order"]["metafield"] == {"jsonValue": {"LAMP-S": None}, "type": "json"}


def test_metafields_set_rejects_26_inputs_and_writes_nothing(world):
    entry = {"ownerId": world["order"]["id"], "namespace": "backorders", "type": "single_line_text_field", "value": "v"}
    many = [dict(entry, key=f"key_{i}") for i in range(26)]
    status, body = world["gql"](ALL_OPERATIONS["OrderMetafieldsSet"], {"metafields": many})
    assert body["data"]["metafieldsSet"] == {"metafields": None, "userErrors": [{
        "field": ["metafields"], "message": "Exceeded the maximum metafields input limit of 25.",
        "code": "LESS_THAN_OR_EQUAL_TO"}]}
    assert world["fake"].order(SHOP, world["order"]["id"])["metafields"] == []
    status, body = world["gql"](ALL_OPERATIONS["OrderMetafieldsSet"], {"metafields": many[:25]})
    assert body["data"]["metafieldsSet"]["userErrors"] == [] and len(body["data"]["metafieldsSet"]["metafields"]) == 25


@pytest.mark.parametrize("change, field, code, message", [
    ({"namespace": "ab"}, ["metafields", "1", "namespace"], "TOO_SHORT", "Namespace is too short (minimum is 3 characters)"),
    ({"key": "k"}, ["metafields", "1", "key"], "TOO_SHORT", "Key is too short (minimum is 2 characters)"),
    ({"key": "k" * 65}, ["metafields", "1", "key"], "TOO_LONG", "Key is too long (maximum is 64 characters)"),
    ({"type": None}, ["metafields", "1", "type"], "BLANK", "Type can't be blank"),
    ({"value": "{nope"}, ["metafields", "1", "value"], "INVALID_VALUE", None),
])
def test_metafields_set_validation_is_atomic(world, change, field, code, message):
    good = {"ownerId": world["order"]["id"], "namespace": "backorders", "key": "eta", "type": "json", "value": "{}"}
    bad = {k: v for k, v in {**good, "key": "other", **change}.items() if v is not None}
    status, body = world["gql"](ALL_OPERATIONS["OrderMetafieldsSet"], {"metafields": [good, bad]})
    [error] = body["data"]["metafieldsSet"]["userErrors"]
    assert (error["field"], error["code"]) == (field, code)
    assert message is None or error["message"] == message
    assert world["fake"].order(SHOP, world["order"]["id"])["metafields"] == []  # not even the good one


def test_metafield_definition_makes_type_optional(world):
    fake = world["fake"]
    fake.add_metafield_definition(SHOP, "ORDER", "$app", "backorder_etas", "json")
    entry = {"ownerId": world["order"]["id"], "namespace": "$app", "key": "backorder_etas", "value": "[]"}
    status, body = world["gql"](ALL_OPERATIONS["OrderMetafieldsSet"], {"metafields": [entry]})
    assert body["data"]["metafieldsSet"]["userErrors"] == []


def test_recent_orders_pages_by_updated_at(world):
    fake, gql = world["fake"], world["gql"]
    second = fake.place_order(SHOP, [(world["lamp"], 1)])
    third = fake.place_order(SHOP, [(world["lamp"], 1)])
    fake.update_order(SHOP, world["order"]["id"], note="gift")  # now the most recently updated
    seen, after = [], None
    while True:
        status, body = gql(ALL_OPERATIONS["RecentOrders"], {"first": 2, "after": after})
        page = body["data"]["orders"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [second["id"], third["id"], world["order"]["id"]]
    status, body = gql(ALL_OPERATIONS["RecentOrders"], {"first": 5, "query": f"id:>{second['legacyResourceId']}"})
    assert [e["node"]["id"] for e in body["data"]["orders"]["edges"]] == [third["id"]]


def test_connection_without_first_or_last_is_refused(world):
    status, body = world["gql"]("{ orders { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"


def test_missing_scope_is_access_denied(world):
    token = world["fake"].issue_access_token(SHOP, scopes=["read_products"])["access_token"]
    status, body = world["gql"](ALL_OPERATIONS["RecentOrders"], {"first": 1}, access_token=token)
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert body["errors"][0]["message"] == "Access denied for orders field. Required access: `read_orders` access scope."
    status, body = world["gql"](ALL_OPERATIONS["VariantInventory"], {"ids": [world["lamp"]]}, access_token=token)
    assert body["errors"][0]["path"][-1] == "inventoryLevels"


def test_other_shops_ids_resolve_to_null(world):
    fake = world["fake"]
    fake.create_shop("other.myshopify.com")
    other = fake.add_product("other.myshopify.com", "Chair", [{"sku": "CHAIR"}])
    status, body = world["gql"](ALL_OPERATIONS["VariantInventory"], {"ids": [other["variants"][0]["id"]]})
    assert body["data"]["nodes"] == [None]


def test_injected_failures_then_recovery(world):
    fake = world["fake"]
    fake.fail_next(1, status=503)
    fake.fail_next(1, status=429, retry_after="0")
    status, body = world["gql"](ALL_OPERATIONS["ShopInfo"])
    assert status == 503
    response = world["http"].post(f"https://{SHOP}/admin/api/2026-10/graphql.json",
                                  json={"query": ALL_OPERATIONS["ShopInfo"]},
                                  headers={"X-Shopify-Access-Token": world["token"]})
    assert response.status_code == 429 and response.headers["Retry-After"] == "0"
    assert world["gql"](ALL_OPERATIONS["ShopInfo"])[0] == 200
