"""The dev store's payments and refunds: suggestedRefund, refundCreate (idempotent, validated, atomic)."""
from __future__ import annotations

import json

import httpx
import pytest

from connectors.shopify.devstore import FakeShopify
from connectors.shopify.devstore.refunds import order_money
from connectors.shopify.operations import ALL_OPERATIONS

KEY = "devstore-refund-key"
SECRET = "devstore-refund-secret-0123456789abcdef"
SHOP = "oak-and-linen.myshopify.com"
IDEMPOTENCY_KEY = "0f8e3c1a-1111-4c2b-9d7e-5a6b7c8d9e0f"


@pytest.fixture
def world():
    received = []
    fake = FakeShopify(KEY, SECRET, deliver=lambda url, headers, body: received.append((headers, body)) or 200)
    fake.create_shop(SHOP)
    lamp = fake.add_product(SHOP, "Linen lamp", [{"sku": "LAMP", "price": "79.00", "policy": "CONTINUE", "available": 0}])
    rug = fake.add_product(SHOP, "Wool rug", [{"sku": "RUG", "price": "259.00", "available": 5}])
    token = fake.issue_access_token(SHOP)["access_token"]
    order = fake.place_order(SHOP, [(lamp["variants"][0]["id"], 2), (rug["variants"][0]["id"], 1)], shipping="12.50")
    http = httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app))

    def gql(name_or_query, variables=None):
        query = ALL_OPERATIONS.get(name_or_query, name_or_query)
        response = http.post(f"https://{SHOP}/admin/api/2026-10/graphql.json",
                             json={"query": query, "variables": variables or {}},
                             headers={"X-Shopify-Access-Token": token})
        return response.json()

    lines = order["lineItems"]
    return {"fake": fake, "gql": gql, "order": order["id"], "lamp_line": lines[0]["id"], "rug_line": lines[1]["id"],
            "lamp": lamp["variants"][0]["id"], "received": received}


def suggested(world, lines, shipping=False):
    body = world["gql"]("SuggestedLineRefund", {"id": world["order"], "refundShipping": shipping, "refundLineItems": [
        {"lineItemId": line, "quantity": qty, "restockType": "NO_RESTOCK"} for line, qty in lines]})
    return body["data"]["order"]["suggestedRefund"]


def refund_input(world, lines, transactions, shipping=None):
    data = {"orderId": world["order"], "notify": False, "refundLineItems": [
        {"lineItemId": line, "quantity": qty, "restockType": "NO_RESTOCK"} for line, qty in lines]}
    if transactions:
        data["transactions"] = transactions
    if shipping:
        data["shipping"] = {"amount": shipping}
    return data


def transactions_from(world, suggestion):
    return [{"orderId": world["order"], "kind": "REFUND", "gateway": t["gateway"],
             "amount": t["amountSet"]["presentmentMoney"]["amount"], "parentId": t["parentTransaction"]["id"]}
            for t in suggestion["suggestedTransactions"]]


def test_checkout_records_one_sale_for_the_total_with_shipping(world):
    money = order_money(world["fake"], SHOP, world["order"])
    assert money["displayFinancialStatus"] == "PAID" and money["received"] == "429.50"
    assert [(t["kind"], t["amount"]) for t in money["transactions"]] == [("SALE", "429.50")]
    body = world["gql"](f'{{ order(id: "{world["order"]}") {{ transactions(first: 5) {{ kind gateway status }} '
                        'shippingLines(first: 5) { nodes { title originalPriceSet { shopMoney { amount } } } } '
                        'refundable totalRefundedSet { shopMoney { amount } } } }')
    order = body["data"]["order"]
    assert order["transactions"] == [{"kind": "SALE", "gateway": "bogus", "status": "SUCCESS"}]
    assert order["shippingLines"]["nodes"] == [{"title": "Standard", "originalPriceSet": {"shopMoney": {"amount": "12.50"}}}]
    assert order["refundable"] is True and order["totalRefundedSet"]["shopMoney"]["amount"] == "0.00"


def test_suggested_refund_prices_the_line_and_shipping_only_when_asked(world):
    one = suggested(world, [(world["lamp_line"], 1)])
    assert one["amountSet"]["presentmentMoney"]["amount"] == "79.00"
    assert one["shipping"]["amountSet"]["presentmentMoney"]["amount"] == "0.00"
    [txn] = one["suggestedTransactions"]
    assert (txn["kind"], txn["gateway"], txn["amountSet"]["presentmentMoney"]["amount"]) == ("SUGGESTED_REFUND", "bogus", "79.00")
    assert txn["parentTransaction"]["id"] == order_money(world["fake"], SHOP, world["order"])["transactions"][0]["id"]
    with_shipping = suggested(world, [(world["lamp_line"], 2)], shipping=True)
    assert with_shipping["amountSet"]["presentmentMoney"]["amount"] == "170.50"
    assert with_shipping["shipping"]["amountSet"]["presentmentMoney"]["amount"] == "12.50"


def test_refund_create_refunds_once_per_idempotency_key(world):
    fake, gql = world["fake"], world["gql"]
    data = refund_input(world, [(world["lamp_line"], 1)], transactions_from(world, suggested(world, [(world["lamp_line"], 1)])))
    first = gql("RefundLineCreate", {"input": data, "idempotencyKey": IDEMPOTENCY_KEY})["data"]["refundCreate"]
    assert first["userErrors"] == [] and first["refund"]["id"].startswith("gid://shopify/Refund/")
    again = gql("RefundLineCreate", {"input": data, "idempotencyKey": IDEMPOTENCY_KEY})["data"]["refundCreate"]
    assert again == first  # the first answer, nothing refunded again
    money = order_money(fake, SHOP, world["order"])
    assert money["displayFinancialStatus"] == "PARTIALLY_REFUNDED" and money["refunded"] == "79.00"
    assert [r["lines"] for r in money["refunds"]] == [[{"lineItemId": world["lamp_line"], "quantity": 1,
                                                        "restockType": "NO_RESTOCK"}]]
    line = fake.order(SHOP, world["order"])["lineItems"][0]
    assert (line["quantity"], line["currentQuantity"]) == (2, 1)
    assert fake.available(SHOP, world["lamp"]) == -2  # restocking off: nothing back into "available"
    # The same key with other input is refused, and changes nothing.
    other = dict(data, note="something else")
    body = gql("RefundLineCreate", {"input": other, "idempotencyKey": IDEMPOTENCY_KEY})
    assert body["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert len(order_money(fake, SHOP, world["order"])["refunds"]) == 1
    # Shopify sends orders/updated for the refund, with the refund and the new financial status.
    assert fake.flush_webhooks() == [200]
    headers, raw = world["received"][-1]
    payload = json.loads(raw)
    assert headers["X-Shopify-Topic"] == "orders/updated" and payload["financial_status"] == "partially_refunded"
    assert payload["line_items"][0]["current_quantity"] == 1
    assert payload["refunds"][0]["refund_line_items"][0]["restock_type"] == "no_restock"


def test_refund_create_requires_the_idempotent_directive(world):
    mutation = ALL_OPERATIONS["RefundLineCreate"].replace(" @idempotent(key: $idempotencyKey)", "") \
        .replace(", $idempotencyKey: String!", "")
    data = refund_input(world, [(world["lamp_line"], 1)], [])
    body = world["gql"](mutation, {"input": data})
    assert body["data"]["refundCreate"] is None and "idempotency key" in body["errors"][0]["message"]
    body = world["gql"]("RefundLineCreate", {"input": data, "idempotencyKey": "  "})
    assert body["errors"][0]["message"] == "The idempotency key cannot be an empty string or whitespace only."
    assert order_money(world["fake"], SHOP, world["order"])["refunds"] == []


@pytest.mark.parametrize("change, field", [
    ({"refundLineItems": [{"lineItemId": "LAMP", "quantity": 3, "restockType": "NO_RESTOCK"}]},
     ["refundLineItems", "0", "quantity"]),
    ({"refundLineItems": [{"lineItemId": "gid://shopify/LineItem/1", "quantity": 1, "restockType": "NO_RESTOCK"}]},
     ["refundLineItems", "0", "lineItemId"]),
    ({"transactions": [{"kind": "REFUND", "gateway": "bogus", "amount": "500.00"}]}, ["transactions", "0", "amount"]),
    ({"transactions": [{"kind": "REFUND", "gateway": "paypal", "amount": "1.00"}]}, ["transactions", "0", "gateway"]),
    ({"shipping": {"amount": "20.00"}}, ["shipping", "amount"]),
])
def test_refund_create_validation_is_atomic(world, change, field):
    fake = world["fake"]
    [sale] = order_money(fake, SHOP, world["order"])["transactions"]
    data = refund_input(world, [(world["rug_line"], 1)], [
        {"orderId": world["order"], "kind": "REFUND", "gateway": "bogus", "amount": "259.00", "parentId": sale["id"]}])
    for key, value in change.items():
        if key == "refundLineItems":
            value = [dict(v, lineItemId=world["lamp_line"] if v["lineItemId"] == "LAMP" else v["lineItemId"]) for v in value]
        if key == "transactions":
            value = [dict(v, orderId=world["order"], parentId=sale["id"]) for v in value]
        data[key] = value
    answer = world["gql"]("RefundLineCreate", {"input": data, "idempotencyKey": IDEMPOTENCY_KEY})["data"]["refundCreate"]
    assert answer["refund"] is None and [e["field"] for e in answer["userErrors"]] == [field]
    money = order_money(fake, SHOP, world["order"])
    assert money["refunds"] == [] and money["displayFinancialStatus"] == "PAID"
    assert [line["currentQuantity"] for line in fake.order(SHOP, world["order"])["lineItems"]] == [2, 1]
    # A key whose first attempt failed cannot be reused.
    body = world["gql"]("RefundLineCreate", {"input": data, "idempotencyKey": IDEMPOTENCY_KEY})
    assert body["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"


def test_refunding_everything_marks_the_order_refunded(world):
    gql = world["gql"]
    lines = [(world["lamp_line"], 2), (world["rug_line"], 1)]
    suggestion = suggested(world, lines, shipping=True)
    data = refund_input(world, lines, transactions_from(world, suggestion), shipping="12.50")
    assert gql("RefundLineCreate", {"input": data, "idempotencyKey": IDEMPOTENCY_KEY})["data"]["refundCreate"]["userErrors"] == []
    money = order_money(world["fake"], SHOP, world["order"])
    assert (money["displayFinancialStatus"], money["refunded"], money["refundedShipping"]) == ("REFUNDED", "429.50", "12.50")
    assert money["currentTotal"] == "0.00"
    again = suggested(world, [], shipping=True)
    assert again["amountSet"]["presentmentMoney"]["amount"] == "0.00" and again["suggestedTransactions"] == []
