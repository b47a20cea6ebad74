"""Payments and refunds in the dev store: an order's transactions, suggestedRefund and refundCreate.

What an order is paid with: checkout records one successful SALE on the `bogus` gateway (Shopify's
test gateway) for the order's total, shipping included (`charge`). A refund moves money back only
through REFUND transactions whose parent is such a payment, each at most what is left of it,
the whole at most what the order still holds unless `allowOverRefunding` (RefundInput).

refundCreate, as the 2026-10 schema documents it:
- the `@idempotent(key:)` directive is required (optional since 2026-01, mandatory since 2026-04;
  the key must not be blank). The same key with the same input answers the first result again
  and changes nothing; with other input it is refused (IDEMPOTENCY_KEY_PARAMETER_MISMATCH); after
  a first attempt that failed, it is refused too (IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED) — the codes
  and wording of https://shopify.dev/docs/api/usage/implementing-idempotency. refundCreate's
  payload has plain UserErrors (no code), so these are top-level errors here;
- validation is atomic: any user error and nothing changes;
- line items: `quantity` at most what is still on the line; NO_RESTOCK leaves stock as it is
  (the units are no longer committed to the order, nothing returns to "available"); CANCEL puts
  unfulfilled units back at `locationId` (default: the first location); RETURN is for fulfilled
  units, which the dev store never has; LEGACY_RESTOCK is not accepted;
- shipping: `amount` or `fullRefund`, at most the shipping not yet refunded;
- the order's displayFinancialStatus becomes PARTIALLY_REFUNDED or REFUNDED, its current
  quantities and totals drop, and orders/updated is queued (Shopify sends it when a refund changes
  an order; refunds/create is sent only to apps subscribed to it, and this app is not).
User-error messages are the dev store's own wording where Shopify's is not published.
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from graphql import GraphQLError
from graphql.execution.values import get_directive_values

from .connections import paginate
from .resolvers import Context, _lookup, require
from .store import Shop, Store, iso, money, money_bag

GATEWAY = "bogus"
ZERO = Decimal("0")
CENTS = Decimal("0.01")


# -- payments ---------------------------------------------------------------------------------
def charge(store: Store, shop: Shop, order: dict, shipping: str | Decimal | None = None,
           shipping_title: str = "Standard") -> None:
    """Checkout's payment: a shipping line (if any) and one SALE for the whole total."""
    currency = shop.gql["currencyCode"]
    order["_shipping_lines"] = []
    amount = Decimal(str(shipping)) if shipping is not None else ZERO
    if amount < 0:
        raise ValueError("shipping cannot be negative")
    if shipping is not None:
        line = store._new(shop, "ShippingLine", title=shipping_title, code=shipping_title, source="shopify",
                          custom=False, isRemoved=False, carrierIdentifier=None, deliveryCategory=None,
                          phone=None, shippingRateHandle=None, taxLines=[], discountAllocations=[],
                          originalPriceSet=money_bag(amount, currency), discountedPriceSet=money_bag(amount, currency),
                          currentDiscountedPriceSet=money_bag(amount, currency), _price=amount)
        order["_shipping_lines"].append(line)
    order["_shipping"] = amount
    total = order["_total"] + amount
    order["totalPriceSet"] = money_bag(total, currency)
    order["currentTotalPriceSet"] = money_bag(total, currency)
    order["totalShippingPriceSet"] = money_bag(amount, currency)
    order["_refunds"] = []
    order["_refunded"] = ZERO
    order["_refunded_shipping"] = ZERO
    order["_transactions"] = [_transaction(store, shop, order, "SALE", total, None)]


def _paid(store: Store, shop: Shop, order: dict) -> None:
    """Orders made before payments were modelled are charged on first use (no shipping)."""
    if "_transactions" not in order:
        charge(store, shop, order)


def _transaction(store: Store, shop: Shop, order: dict, kind: str, amount: Decimal, parent: dict | None) -> dict:
    currency = shop.gql["currencyCode"]
    moment = store.now()
    txn = store._new(shop, "OrderTransaction", kind=kind, status="SUCCESS", gateway=GATEWAY,
                     formattedGateway="Bogus", test=True, errorCode=None, accountNumber=None,
                     amountSet=money_bag(amount, currency), amount=f"{amount:.2f}", parentTransaction=parent,
                     createdAt=iso(moment), processedAt=iso(moment), order=order, manualPaymentGateway=False,
                     manuallyCapturable=False, multiCapturable=False, paymentId=None, paymentDetails=None,
                     receiptJson=None, fees=[], _amount=amount, _refunded=ZERO)
    return txn


def _payments(order: dict) -> list[dict]:
    return [t for t in order["_transactions"] if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"]


def _received(order: dict) -> Decimal:
    return sum((t["_amount"] for t in _payments(order)), ZERO)


def _refundable_shipping(order: dict) -> Decimal:
    return order["_shipping"] - order["_refunded_shipping"]


# -- Order fields ---------------------------------------------------------------------------------
def _ctx_paid(info, order: dict) -> dict:
    ctx: Context = info.context
    _paid(ctx.store, ctx.shop, order)
    return order


def order_transactions(order, info, first=None, capturable=None, manuallyResolvable=None):
    found = list(_ctx_paid(info, order)["_transactions"])
    if capturable:
        found = []  # every dev-store payment is captured at checkout
    return found[:first] if first is not None else found


def order_refunds(order, info, first=None):
    found = list(_ctx_paid(info, order)["_refunds"])
    return found[:first] if first is not None else found


def order_shipping_lines(order, info, first=None, last=None, after=None, before=None, reverse=False,
                         includeRemovals=False):
    lines = _ctx_paid(info, order)["_shipping_lines"]
    return paginate(lines, lambda item: int(item["legacyResourceId"]), first=first, last=last, after=after,
                    before=before, reverse=bool(reverse))


def _order_money(compute):
    def resolve(order, info):
        _ctx_paid(info, order)
        return money_bag(compute(order), info.context.shop.gql["currencyCode"])
    return resolve


def order_refundable(order, info):
    _ctx_paid(info, order)
    return _received(order) - order["_refunded"] > 0


def order_suggested_refund(order, info, refundLineItems=None, refundShipping=None, shippingAmount=None,
                           suggestFullRefund=False, refundDuties=None, refundMethodAllocation=None):
    """What Shopify would refund for these lines and shipping: prices (no tax or discounts in the
    dev store), shipping not yet refunded, split over the payments that can still take it."""
    ctx: Context = info.context
    _paid(ctx.store, ctx.shop, order)
    if refundDuties or refundMethodAllocation not in (None, "ORIGINAL_PAYMENT_METHODS"):
        raise GraphQLError("fake Shopify does not implement suggestedRefund(refundDuties:, refundMethodAllocation:)")
    currency = ctx.shop.gql["currencyCode"]
    lines = _order_lines(order)
    if suggestFullRefund:
        wanted = [{"lineItemId": line["id"], "quantity": line["currentQuantity"], "restockType": "NO_RESTOCK"}
                  for line in order["_lines"] if line["currentQuantity"] > 0]
        shipping = _refundable_shipping(order)
    else:
        wanted = list(refundLineItems or [])
        shipping = ZERO
        if refundShipping:
            shipping = _refundable_shipping(order)
        elif shippingAmount is not None:
            shipping = min(_decimal(shippingAmount), _refundable_shipping(order))
    items, subtotal = [], ZERO
    for entry in wanted:
        line = lines.get(entry["lineItemId"])
        if line is None:
            raise GraphQLError(f"Invalid id: {entry['lineItemId']}", extensions={"code": "BAD_REQUEST"})
        quantity = max(0, min(int(entry["quantity"]), line["currentQuantity"]))
        amount = line["_price"] * quantity
        subtotal += amount
        items.append(_refund_line_view(ctx, line, quantity, entry.get("restockType") or "NO_RESTOCK",
                                       entry.get("locationId"), amount, currency))
    maximum = _received(order) - order["_refunded"]
    amount = min(subtotal + shipping, maximum)
    return {
        "__typename": "SuggestedRefund",
        "amountSet": money_bag(amount, currency), "amount": f"{amount:.2f}",
        "maximumRefundableSet": money_bag(maximum, currency), "maximumRefundable": f"{maximum:.2f}",
        "subtotalSet": money_bag(subtotal, currency), "subtotal": f"{subtotal:.2f}",
        "discountedSubtotalSet": money_bag(subtotal, currency),
        "totalTaxSet": money_bag(ZERO, currency), "totalTaxes": "0.00",
        "totalDutiesSet": money_bag(ZERO, currency), "totalCartDiscountAmountSet": money_bag(ZERO, currency),
        "refundLineItems": items, "refundDuties": [], "suggestedRefundMethods": [],
        "shipping": {"__typename": "ShippingRefund", "amountSet": money_bag(shipping, currency),
                     "amount": f"{shipping:.2f}", "maximumRefundableSet": money_bag(_refundable_shipping(order), currency),
                     "maximumRefundable": f"{_refundable_shipping(order):.2f}",
                     "taxSet": money_bag(ZERO, currency), "tax": "0.00"},
        "suggestedTransactions": _split(order, amount, currency),
    }


def _split(order: dict, amount: Decimal, currency: str) -> list[dict]:
    """The suggested REFUND per payment, oldest first, each up to what is left of it."""
    out, left = [], amount
    for parent in _payments(order):
        room = parent["_amount"] - parent["_refunded"]
        take = min(room, left)
        if take <= 0:
            continue
        left -= take
        out.append({"__typename": "SuggestedOrderTransaction", "kind": "SUGGESTED_REFUND", "gateway": parent["gateway"],
                    "formattedGateway": parent["formattedGateway"], "accountNumber": None, "paymentDetails": None,
                    "amountSet": money_bag(take, currency), "amount": f"{take:.2f}",
                    "maximumRefundableSet": money_bag(room, currency), "maximumRefundable": f"{room:.2f}",
                    "parentTransaction": parent})
    return out


def _refund_line_view(ctx: Context, line: dict, quantity: int, restock_type: str, location_id, amount: Decimal,
                      currency: str, *, refund_id: str | None = None) -> dict:
    location = None
    if restock_type in ("CANCEL", "RETURN"):
        location = ctx.store.location(ctx.shop, location_id) if location_id else ctx.shop.locations[0]
    return {"__typename": "RefundLineItem", "id": refund_id, "lineItem": line, "quantity": quantity,
            "restockType": restock_type, "restocked": restock_type in ("CANCEL", "RETURN"), "location": location,
            "priceSet": money_bag(line["_price"], currency), "price": f"{line['_price']:.2f}",
            "subtotalSet": money_bag(amount, currency), "subtotal": f"{amount:.2f}",
            "totalTaxSet": money_bag(ZERO, currency), "totalTax": "0.00", "legacyResourceId": "0"}


def _order_lines(order: dict) -> dict[str, dict]:
    return {line["id"]: line for line in order["_lines"]}


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value)).quantize(CENTS)
    except (InvalidOperation, ValueError):
        raise GraphQLError(f"Invalid Money value {value!r}", extensions={"code": "argumentLiteralsIncompatible"}) from None


# -- Refund fields --------------------------------------------------------------------------------
def _connection(key: str):
    def resolve(refund, info, first=None, last=None, after=None, before=None, reverse=False):
        return paginate(refund[key], lambda item: int(item["legacyResourceId"]), first=first, last=last,
                        after=after, before=before, reverse=bool(reverse))
    return resolve


# -- refundCreate ---------------------------------------------------------------------------------
def _user_error(field: list[str] | None, message: str) -> dict:
    return {"field": field, "message": message}


def _idempotency_key(info) -> str | None:
    directive = info.schema.get_directive("idempotent")
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values) if directive else None
    return None if values is None else values.get("key")


def m_refund_create(_root, info, input):
    ctx: Context = info.context
    key = _idempotency_key(info)
    if key is None:
        raise GraphQLError("refundCreate requires an idempotency key: add @idempotent(key: \"<uuid>\") to the field "
                           "(https://shopify.dev/docs/api/usage/idempotent-requests).",
                           extensions={"code": "BAD_REQUEST"})
    if not str(key).strip():
        raise GraphQLError("The idempotency key cannot be an empty string or whitespace only.",
                           extensions={"code": "BAD_REQUEST"})
    require(ctx, "write_orders", "refundCreate")
    fingerprint = json.dumps(input, sort_keys=True, default=str)
    remembered = ctx.shop.gql.setdefault("_idempotency", {})
    seen = remembered.get(("refundCreate", key))
    if seen is not None:
        first_input, first_answer = seen
        if first_input != fingerprint:
            raise GraphQLError("The same idempotency key cannot be used with different operation parameters.",
                               extensions={"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"})
        if first_answer["userErrors"]:
            raise GraphQLError("A previous request with this idempotency key failed. Retry with a new idempotency key.",
                               extensions={"code": "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"})
        return first_answer
    answer = _create_refund(ctx, input)
    remembered[("refundCreate", key)] = (fingerprint, answer)
    return answer


def _create_refund(ctx: Context, data: dict) -> dict:
    failed = {"refund": None, "order": None, "userErrors": []}
    order = _lookup(ctx, data["orderId"])
    if order is None or order["__typename"] != "Order":
        failed["userErrors"].append(_user_error(["orderId"], "Order does not exist"))
        return failed
    _paid(ctx.store, ctx.shop, order)
    currency = ctx.shop.gql["currencyCode"]
    errors: list[dict] = []
    if data.get("currency") not in (None, order["presentmentCurrencyCode"]):
        errors.append(_user_error(["currency"], f"Currency must be {order['presentmentCurrencyCode']}, the order's "
                                                "presentment currency"))

    lines = _order_lines(order)
    planned_lines: list[tuple[dict, int, str, dict | None]] = []
    asked: dict[str, int] = {}
    for index, entry in enumerate(data.get("refundLineItems") or []):
        at = ["refundLineItems", str(index)]
        line = lines.get(entry["lineItemId"])
        if line is None:
            errors.append(_user_error(at + ["lineItemId"], "Line item does not exist on this order"))
            continue
        quantity = int(entry["quantity"])
        restock = entry.get("restockType") or "NO_RESTOCK"
        asked[line["id"]] = asked.get(line["id"], 0) + quantity
        if quantity <= 0:
            errors.append(_user_error(at + ["quantity"], "Quantity must be greater than 0"))
        elif asked[line["id"]] > line["currentQuantity"]:
            errors.append(_user_error(at + ["quantity"], f"Quantity cannot refund more items than were purchased "
                                                         f"({line['currentQuantity']} left on the line)"))
        if restock == "LEGACY_RESTOCK":
            errors.append(_user_error(at + ["restockType"], "LEGACY_RESTOCK is not accepted when creating new refunds"))
        elif restock == "RETURN":
            errors.append(_user_error(at + ["restockType"], "Cannot return a line item that was not fulfilled"))
        location = None
        if restock == "CANCEL":
            location_id = entry.get("locationId")
            location = next((loc for loc in ctx.shop.locations if loc["id"] == location_id), None) if location_id \
                else ctx.shop.locations[0]
            if location is None:
                errors.append(_user_error(at + ["locationId"], "Location does not exist"))
        elif restock == "NO_RESTOCK" and entry.get("locationId"):
            errors.append(_user_error(at + ["locationId"], "Location must be empty when the line item is not restocked"))
        planned_lines.append((line, quantity, restock, location))

    shipping = ZERO
    shipping_input = data.get("shipping") or {}
    if shipping_input.get("fullRefund"):
        shipping = _refundable_shipping(order)
    elif shipping_input.get("amount") is not None:
        shipping = _decimal(shipping_input["amount"])
        if shipping < 0:
            errors.append(_user_error(["shipping", "amount"], "Shipping amount must be positive"))
        elif shipping > _refundable_shipping(order):
            errors.append(_user_error(["shipping", "amount"], f"Shipping amount exceeds the refundable shipping "
                                                              f"({_refundable_shipping(order):.2f})"))

    payments = {t["id"]: t for t in _payments(order)}
    planned_money: list[tuple[dict, Decimal]] = []
    taken: dict[str, Decimal] = {}
    for index, entry in enumerate(data.get("transactions") or []):
        at = ["transactions", str(index)]
        amount = _decimal(entry["amount"])
        parent = payments.get(entry.get("parentId") or "") if entry.get("parentId") else (
            next(iter(payments.values()), None) if len(payments) == 1 else None)
        if entry["orderId"] != order["id"]:
            errors.append(_user_error(at + ["orderId"], "Transaction must belong to the order being refunded"))
        elif entry["kind"] != "REFUND":
            errors.append(_user_error(at + ["kind"], "Kind must be refund"))
        elif parent is None:
            errors.append(_user_error(at + ["parentId"], "Parent transaction does not exist on this order"))
        elif entry["gateway"] != parent["gateway"]:
            errors.append(_user_error(at + ["gateway"], f"Gateway must be {parent['gateway']}, the parent's gateway"))
        elif amount <= 0:
            errors.append(_user_error(at + ["amount"], "Amount must be greater than 0"))
        else:
            taken[parent["id"]] = taken.get(parent["id"], ZERO) + amount
            if taken[parent["id"]] > parent["_amount"] - parent["_refunded"] and not data.get("allowOverRefunding"):
                errors.append(_user_error(at + ["amount"], f"Amount cannot exceed the refundable amount of the "
                                                           f"transaction ({parent['_amount'] - parent['_refunded']:.2f})"))
            planned_money.append((parent, amount))
    if not planned_lines and shipping == 0 and not planned_money and not errors:
        errors.append(_user_error(None, "A refund needs line items, shipping or transactions"))
    if errors:
        failed["userErrors"] = errors
        return failed

    # -- apply: everything validated, nothing fails from here on --------------------------------
    store = ctx.store
    refund = store._new(ctx.shop, "Refund", note=data.get("note"), order=order, staffMember=None, duties=[],
                        _lines=[], _transactions=[], _shipping_lines=[])
    store.touch(refund, created=True)
    refund["processedAt"] = data.get("processedAt") or refund["createdAt"]
    refund["return"] = None
    for line, quantity, restock, location in planned_lines:
        view = _refund_line_view(ctx, line, quantity, restock, location["id"] if location else None,
                                 line["_price"] * quantity, currency)
        row = store._new(ctx.shop, "RefundLineItem", **{k: v for k, v in view.items() if k not in ("id", "__typename",
                                                                                                      "legacyResourceId")})
        refund["_lines"].append(row)
        line["currentQuantity"] -= quantity
        line["unfulfilledQuantity"] = max(0, line["unfulfilledQuantity"] - quantity)
        variant = line["variant"]
        if variant["inventoryItem"]["tracked"]:
            level = store.level(ctx.shop, variant, location["id"] if location else None)
            level["_q"]["committed"] = max(0, level["_q"]["committed"] - quantity)  # no longer owed
            if restock == "CANCEL":
                level["_q"]["available"] += quantity
            store.touch(level)
    if shipping > 0:
        order["_refunded_shipping"] += shipping
        for shipping_line in order["_shipping_lines"][:1]:
            row = store._new(ctx.shop, "RefundShippingLine", shippingLine=shipping_line,
                             subtotalAmountSet=money_bag(shipping, currency), taxAmountSet=money_bag(ZERO, currency))
            refund["_shipping_lines"].append(row)
    refunded = ZERO
    for parent, amount in planned_money:
        txn = _transaction(store, ctx.shop, order, "REFUND", amount, parent)
        parent["_refunded"] += amount
        refund["_transactions"].append(txn)
        order["_transactions"].append(txn)
        refunded += amount
    refund["totalRefundedSet"] = money_bag(refunded, currency)
    refund["totalRefunded"] = money(refunded, currency)
    order["_refunds"].append(refund)
    order["_refunded"] += refunded
    removed = sum((line["_price"] * quantity for line, quantity, _r, _l in planned_lines), ZERO)
    current = max(ZERO, _money_of(order["currentTotalPriceSet"]) - removed - shipping)
    order["currentTotalPriceSet"] = money_bag(current, currency)
    if refunded > 0:
        order["displayFinancialStatus"] = "REFUNDED" if order["_refunded"] >= _received(order) else "PARTIALLY_REFUNDED"
    store.touch(order)
    ctx.events.append(("orders/updated", order["id"]))
    return {"refund": refund, "order": order, "userErrors": []}


def _money_of(bag: dict) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"])


# -- webhooks (REST shape) -----------------------------------------------------------------------
def rest_refunds(order: dict) -> list[dict]:
    """The `refunds` of an order webhook, in the REST shape Shopify sends."""
    out = []
    for refund in order.get("_refunds") or []:
        out.append({
            "id": int(refund["legacyResourceId"]), "admin_graphql_api_id": refund["id"],
            "order_id": int(order["legacyResourceId"]), "note": refund["note"], "created_at": refund["createdAt"],
            "processed_at": refund["processedAt"], "restock": any(r["restocked"] for r in refund["_lines"]),
            "refund_line_items": [{
                "id": int(r["legacyResourceId"]), "line_item_id": int(r["lineItem"]["legacyResourceId"]),
                "quantity": r["quantity"], "restock_type": r["restockType"].lower(),
                "location_id": int(r["location"]["legacyResourceId"]) if r["location"] else None,
                "subtotal": float(_money_of(r["subtotalSet"])), "total_tax": 0.0} for r in refund["_lines"]],
            "transactions": [{
                "id": int(t["legacyResourceId"]), "admin_graphql_api_id": t["id"], "kind": "refund",
                "status": "success", "gateway": t["gateway"], "amount": f"{t['_amount']:.2f}",
                "parent_id": int(t["parentTransaction"]["legacyResourceId"]), "test": True} for t in refund["_transactions"]],
            "order_adjustments": [], "duties": [],
        })
    return out


# -- inspection (tests and the demo) ---------------------------------------------------------------
def order_money(fake, domain: str, order_gid: str) -> dict:
    """What the store holds about an order's money: status, transactions, refunds and shipping."""
    with fake.lock:
        shop = fake.store.shop(domain)
        order = fake.store.order(shop, order_gid)
        _paid(fake.store, shop, order)
        return {
            "displayFinancialStatus": order["displayFinancialStatus"],
            "received": f"{_received(order):.2f}", "refunded": f"{order['_refunded']:.2f}",
            "shipping": f"{order['_shipping']:.2f}", "refundedShipping": f"{order['_refunded_shipping']:.2f}",
            "currentTotal": order["currentTotalPriceSet"]["shopMoney"]["amount"],
            "transactions": [{"id": t["id"], "kind": t["kind"], "amount": f"{t['_amount']:.2f}",
                              "parentId": t["parentTransaction"]["id"] if t["parentTransaction"] else None}
                             for t in order["_transactions"]],
            "refunds": [{"id": r["id"], "note": r["note"],
                         "lines": [{"lineItemId": x["lineItem"]["id"], "quantity": x["quantity"],
                                    "restockType": x["restockType"]} for x in r["_lines"]],
                         "shipping": f"{sum((_money_of(s['subtotalAmountSet']) for s in r['_shipping_lines']), ZERO):.2f}",
                         "amount": r["totalRefundedSet"]["shopMoney"]["amount"]} for r in order["_refunds"]],
        }


QUERY_ROOT: dict = {}
MUTATION_ROOT = {"refundCreate": m_refund_create}
OBJECT_FIELDS = {
    ("Order", "transactions"): order_transactions,
    ("Order", "refunds"): order_refunds,
    ("Order", "shippingLines"): order_shipping_lines,
    ("Order", "suggestedRefund"): order_suggested_refund,
    ("Order", "refundable"): order_refundable,
    ("Order", "totalReceivedSet"): _order_money(_received),
    ("Order", "totalRefundedSet"): _order_money(lambda o: o["_refunded"]),
    ("Order", "totalRefundedShippingSet"): _order_money(lambda o: o["_refunded_shipping"]),
    ("Order", "netPaymentSet"): _order_money(lambda o: _received(o) - o["_refunded"]),
    ("Order", "totalShippingPriceSet"): _order_money(lambda o: o["_shipping"]),
    ("Refund", "refundLineItems"): _connection("_lines"),
    ("Refund", "transactions"): _connection("_transactions"),
    ("Refund", "refundShippingLines"): _connection("_shipping_lines"),
}
