"""Inventory shipments in the dev store: stock on its way to a location, as Shopify models it.

A shipment is created as DRAFT or IN_TRANSIT. While in transit its unreceived units count in the
destination level's "incoming" quantity; receiving moves accepted units to "available" (rejected
ones leave "incoming" without becoming stock) and sets the status to PARTIALLY_RECEIVED or
RECEIVED. Only drafts can be deleted, as on Shopify (`inventoryShipmentDelete`). The search
syntax of `inventoryShipments(query:)` is Shopify's documented one for that field: `status`,
`barcode`, `destination_id`, `id`, `tracking_number`, with OR, AND, `-`/NOT; anything else is
refused loudly rather than guessed.
"""
from __future__ import annotations

import shlex
from datetime import date, datetime, timezone
from typing import Callable

from graphql import GraphQLError

from .store import Shop, Store, StoreError, iso, parse_gid

SHIPMENT_STATUSES = ("DRAFT", "IN_TRANSIT", "PARTIALLY_RECEIVED", "RECEIVED")


def _moment(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return iso(value)


def tracking(shipment: dict) -> dict | None:
    data = shipment["_tracking"]
    if not any(data.values()):
        return None
    return {"__typename": "InventoryShipmentTracking", **data}


def unreceived(line: dict) -> int:
    return line["quantity"] - line["acceptedQuantity"] - line["rejectedQuantity"]


def add_shipment(store: Store, shop: Shop, lines: list[tuple[str, int]], *, location: str | None, status: str,
                 arrives_at, tracking_number: str | None, company: str | None, name: str | None) -> dict:
    if status not in ("DRAFT", "IN_TRANSIT"):
        raise StoreError(f"a new shipment is DRAFT or IN_TRANSIT, not {status!r}")
    if not lines:
        raise StoreError("a shipment needs at least one line")
    destination = store.location(shop, location)
    shipment = store._new(shop, "InventoryShipment", name=name or f"#S{len(shop.shipments) + 1}", status="DRAFT",  # noqa: SLF001
                          barcode=None, dateShipped=None, dateReceived=None, _destination=destination, _lines=[],
                          _tracking={"arrivesAt": _moment(arrives_at), "trackingNumber": tracking_number,
                                     "company": company, "trackingUrl": None})
    shipment["dateCreated"] = iso(store.now())
    for variant_id, qty in lines:
        if int(qty) <= 0:
            raise StoreError(f"shipment quantities must be positive, got {qty}")
        item = store.variant(shop, variant_id)["inventoryItem"]
        line = store._new(shop, "InventoryShipmentLineItem", inventoryItem=item, quantity=int(qty),  # noqa: SLF001
                          acceptedQuantity=0, rejectedQuantity=0, _shipment=shipment)
        shipment["_lines"].append(line)
    shop.shipments[shipment["id"]] = shipment
    if status == "IN_TRANSIT":
        mark_in_transit(store, shop, shipment)
    return shipment


def find_shipment(store: Store, shop: Shop, shipment_id: str) -> dict:
    found = shop.shipments.get(shipment_id)
    if found is None:
        raise StoreError(f"{shop.domain} has no inventory shipment {shipment_id!r}")
    return found


def _incoming(store: Store, shop: Shop, shipment: dict, line: dict, delta: int) -> None:
    level = shop.levels[(line["inventoryItem"]["id"], shipment["_destination"]["id"])]
    level["_q"]["incoming"] += delta
    store.touch(level)


def mark_in_transit(store: Store, shop: Shop, shipment: dict) -> None:
    if shipment["status"] != "DRAFT":
        raise StoreError(f"shipment {shipment['name']} is already {shipment['status']}")
    shipment["status"] = "IN_TRANSIT"
    shipment["dateShipped"] = iso(store.now())
    for line in shipment["_lines"]:
        _incoming(store, shop, shipment, line, unreceived(line))


def set_tracking(shipment: dict, *, arrives_at=..., tracking_number=..., company=...) -> None:
    if arrives_at is not ...:
        shipment["_tracking"]["arrivesAt"] = _moment(arrives_at)
    if tracking_number is not ...:
        shipment["_tracking"]["trackingNumber"] = tracking_number
    if company is not ...:
        shipment["_tracking"]["company"] = company


def receive(store: Store, shop: Shop, shipment: dict, accepted: dict[str, int] | None,
            rejected: dict[str, int] | None) -> None:
    """accepted/rejected: {variant gid: units}; accepted=None receives everything still due."""
    if shipment["status"] not in ("IN_TRANSIT", "PARTIALLY_RECEIVED"):
        raise StoreError(f"shipment {shipment['name']} is {shipment['status']}: only shipped stock can be received")
    by_variant = {line["inventoryItem"]["variant"]["id"]: line for line in shipment["_lines"]}
    accepted = {v: unreceived(line) for v, line in by_variant.items()} if accepted is None else dict(accepted)
    rejected = dict(rejected or {})
    for variant_id in set(accepted) | set(rejected):
        line = by_variant.get(variant_id)
        if line is None:
            raise StoreError(f"shipment {shipment['name']} has no line for {variant_id}")
        take, refuse = int(accepted.get(variant_id, 0)), int(rejected.get(variant_id, 0))
        if take < 0 or refuse < 0 or take + refuse > unreceived(line):
            raise StoreError(f"cannot receive {take}+{refuse} of {unreceived(line)} unreceived units")
        line["acceptedQuantity"] += take
        line["rejectedQuantity"] += refuse
        _incoming(store, shop, shipment, line, -(take + refuse))
        level = shop.levels[(line["inventoryItem"]["id"], shipment["_destination"]["id"])]
        level["_q"]["available"] += take
    if shipment["dateReceived"] is None:
        shipment["dateReceived"] = iso(store.now())
    done = all(unreceived(line) == 0 for line in shipment["_lines"])
    shipment["status"] = "RECEIVED" if done else "PARTIALLY_RECEIVED"


def remove_items(store: Store, shop: Shop, shipment: dict, variant_ids: list[str]) -> None:
    if shipment["status"] not in ("DRAFT", "IN_TRANSIT"):
        raise StoreError(f"items cannot be removed from a {shipment['status']} shipment")
    keep = []
    for line in shipment["_lines"]:
        if line["inventoryItem"]["variant"]["id"] in variant_ids:
            if shipment["status"] == "IN_TRANSIT":
                _incoming(store, shop, shipment, line, -unreceived(line))
            store.nodes.pop(line["id"], None)
        else:
            keep.append(line)
    if not keep:
        raise StoreError("a shipment keeps at least one line")
    shipment["_lines"] = keep


def delete(store: Store, shop: Shop, shipment: dict) -> None:
    if shipment["status"] != "DRAFT":
        raise StoreError("Only draft shipments can be deleted.")
    for line in shipment["_lines"]:
        store.nodes.pop(line["id"], None)
    store.nodes.pop(shipment["id"], None)
    del shop.shipments[shipment["id"]]


# -- inventoryShipments(query:) ---------------------------------------------------------------------
def shipment_filter(query: str | None, warnings: list[dict]) -> Callable[[dict], bool]:
    """Predicate for Shopify's search syntax on inventory shipments (OR of AND-groups)."""
    if not query or not query.strip():
        return lambda s: True
    if "(" in query or ")" in query:
        raise GraphQLError("fake Shopify does not implement parentheses in inventoryShipments(query:)")
    try:
        tokens = shlex.split(query, posix=True)
    except ValueError:
        tokens = query.split()
    groups: list[list[Callable[[dict], bool]]] = [[]]
    negate_next = False
    for token in tokens:
        upper = token.upper()
        if upper == "OR":
            groups.append([])
            continue
        if upper == "AND":
            continue
        if upper == "NOT":
            negate_next = True
            continue
        negate = negate_next or token.startswith("-")
        negate_next = False
        test = _term(token.lstrip("-"), warnings)
        if test is None:
            continue
        groups[-1].append((lambda t: (lambda s: not t(s)))(test) if negate else test)
    return lambda s: any(all(test(s) for test in group) for group in groups)


def _term(token: str, warnings: list[dict]) -> Callable[[dict], bool] | None:
    field, sep, value = token.partition(":")
    if not sep:
        needle = token.lower()
        return lambda s: needle in " ".join(filter(None, (s["name"], s["barcode"],
                                                          s["_tracking"]["trackingNumber"]))).lower()
    value = value.strip("'\"")
    if field == "status":
        return lambda s: s["status"].lower() == value.lower()
    if field == "barcode":
        return lambda s: (s["barcode"] or "") == value
    if field == "tracking_number":
        return lambda s: (s["_tracking"]["trackingNumber"] or "") == value
    if field in ("destination_id", "id"):
        op = next((o for o in (">=", "<=", ">", "<") if value.startswith(o)), "=")
        raw = value[len(op):] if op != "=" else value
        parsed = parse_gid(raw)
        try:
            number = parsed[1] if parsed else int(raw)
        except ValueError:
            warnings.append({"field": field, "message": f"Invalid value {raw!r} for an id."})
            return None
        compare = {"=": int.__eq__, ">=": int.__ge__, "<=": int.__le__, ">": int.__gt__, "<": int.__lt__}[op]
        if field == "id":
            return lambda s: compare(int(s["legacyResourceId"]), number)
        return lambda s: compare(int(s["_destination"]["legacyResourceId"]), number)
    warnings.append({"field": field, "message": "Invalid search field for this query."})
    return None


SORT_KEYS: dict[str, Callable[[dict], object]] = {
    "ID": lambda s: int(s["legacyResourceId"]),
    "STATUS": lambda s: s["status"],
}
