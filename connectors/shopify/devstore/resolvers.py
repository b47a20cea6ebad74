"""Resolvers attached to Shopify's real Admin schema.

Everything a resolver needs comes from `info.context` (a `Context`), so the schema is built once
per process and shared. Root fields the dev store does not implement raise "fake Shopify does not
implement <field>" instead of answering null, and `strict_field_resolver` does the same for any
field an object does not model: a test then fails loudly instead of passing on fabricated data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLInterfaceType, GraphQLSchema, GraphQLUnionType

from . import metafields as mf
from . import shipments as sh
from .connections import ORDER_SORT_KEYS, order_filter, paginate
from .store import QUANTITY_NAMES, Shop, Store, parse_gid

SCOPE_DOCS = "https://shopify.dev/api/usage/access-scopes"
READ_SCOPE_BY_TYPE = {"Order": "read_orders", "LineItem": "read_orders", "Product": "read_products",
                      "ProductVariant": "read_products", "InventoryItem": "read_inventory",
                      "InventoryLevel": "read_inventory", "Customer": "read_customers",
                      "InventoryShipment": "read_inventory_shipments",
                      "InventoryShipmentLineItem": "read_inventory_shipments"}
WRITE_SCOPE_BY_TYPE = {"Order": "write_orders", "Product": "write_products", "ProductVariant": "write_products",
                       "Customer": "write_customers"}


@dataclass
class Context:
    store: Store
    shop: Shop
    scopes: frozenset[str]
    api_client_id: int
    events: list[tuple[str, str]] = field(default_factory=list)  # (topic, object gid) to deliver later
    search: list[dict] = field(default_factory=list)              # extensions.search entries


def has_scope(ctx: Context, scope: str) -> bool:
    """A write scope implies its read scope, as on Shopify."""
    return scope in ctx.scopes or scope.replace("read_", "write_", 1) in ctx.scopes


def require(ctx: Context, scope: str, what: str) -> None:
    if not has_scope(ctx, scope):
        raise GraphQLError(f"Access denied for {what} field. Required access: `{scope}` access scope.",
                           extensions={"code": "ACCESS_DENIED", "documentation": SCOPE_DOCS,
                                       "requiredAccess": f"`{scope}` access scope."})


def strict_field_resolver(source: Any, info, **args):
    if isinstance(source, dict):
        if info.field_name not in source:
            raise GraphQLError(f"fake Shopify does not implement {info.parent_type.name}.{info.field_name}")
        value = source[info.field_name]
        return value(info, **args) if callable(value) else value
    return getattr(source, info.field_name, None)


def resolve_type(value: Any, info, abstract_type) -> str:
    if not isinstance(value, dict) or "__typename" not in value:
        raise GraphQLError(f"fake Shopify cannot tell the type of a {abstract_type.name} value")
    return value["__typename"]


def not_implemented(name: str):
    def resolve(_source, _info, **_args):
        raise GraphQLError(f"fake Shopify does not implement {name}")
    return resolve


def _readable(ctx: Context, obj: dict | None, what: str) -> dict | None:
    if obj is not None and obj["__typename"] in READ_SCOPE_BY_TYPE:
        require(ctx, READ_SCOPE_BY_TYPE[obj["__typename"]], what)
    return obj


def _lookup(ctx: Context, node_id: str) -> dict | None:
    if parse_gid(node_id) is None:
        raise GraphQLError(f"Invalid global id '{node_id}'", extensions={"code": "argumentLiteralsIncompatible"})
    return ctx.store.node(ctx.shop, node_id)


# -- query root -----------------------------------------------------------------------------------
def q_shop(_root, info):
    return info.context.shop.gql


def q_node(_root, info, id):
    return _readable(info.context, _lookup(info.context, id), "node")


def q_nodes(_root, info, ids):
    return [_readable(info.context, _lookup(info.context, node_id), "nodes") for node_id in ids]


def _typed(type_name: str, scope: str, field_name: str):
    def resolve(_root, info, id):
        require(info.context, scope, field_name)
        obj = _lookup(info.context, id)
        return obj if obj is not None and obj["__typename"] == type_name else None
    return resolve


def q_orders(_root, info, first=None, last=None, after=None, before=None, query=None, reverse=False,
             sortKey="ID", savedSearchId=None):
    ctx: Context = info.context
    require(ctx, "read_orders", "orders")
    if savedSearchId is not None:
        raise GraphQLError("fake Shopify does not implement orders(savedSearchId:)")
    if sortKey not in ORDER_SORT_KEYS:
        raise GraphQLError(f"fake Shopify does not implement orders(sortKey: {sortKey})")
    warnings: list[dict] = []
    keep = order_filter(query, warnings)
    if query is not None:
        entry = {"path": [info.path.key], "query": query}
        if warnings:
            entry["warnings"] = warnings
        ctx.search.append(entry)
    orders = [o for o in ctx.shop.orders.values() if keep(o)]
    return paginate(orders, ORDER_SORT_KEYS[sortKey], first=first, last=last, after=after, before=before,
                    reverse=bool(reverse))


def q_inventory_shipments(_root, info, first=None, last=None, after=None, before=None, query=None, sortKey="ID"):
    ctx: Context = info.context
    require(ctx, "read_inventory_shipments", "inventoryShipments")
    warnings: list[dict] = []
    keep = sh.shipment_filter(query, warnings)
    if query is not None:
        entry = {"path": [info.path.key], "query": query}
        if warnings:
            entry["warnings"] = warnings
        ctx.search.append(entry)
    found = [s for s in ctx.shop.shipments.values() if keep(s)]
    return paginate(found, sh.SORT_KEYS[sortKey], first=first, last=last, after=after, before=before)


# -- object fields ---------------------------------------------------------------------------------
def _by_id(item: dict) -> int:
    return int(item["legacyResourceId"])


def _level_sort(level: dict) -> int:
    return int(level["id"].split("/")[-1].split("?")[0])


def item_levels(item, info, first=None, last=None, after=None, before=None, reverse=False, query=None,
                includeInactive=False):
    ctx: Context = info.context
    require(ctx, "read_inventory", "inventoryLevels")
    if query:
        raise GraphQLError("fake Shopify does not implement inventoryLevels(query:)")
    levels = ctx.store.items_levels(ctx.shop, item)
    return paginate(levels, _level_sort, first=first, last=last, after=after, before=before, reverse=bool(reverse))


def item_level(item, info, locationId):
    ctx: Context = info.context
    require(ctx, "read_inventory", "inventoryLevel")
    return next((lv for lv in ctx.store.items_levels(ctx.shop, item) if lv["location"]["id"] == locationId), None)


def level_quantities(level, info, names):
    unknown = [name for name in names if name not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(f"Invalid quantity names: {', '.join(unknown)}. Valid names are: {', '.join(QUANTITY_NAMES)}.",
                           extensions={"code": "BAD_REQUEST"})
    quantities = dict(level["_q"])
    # Shopify: on_hand = available + committed + reserved + damaged + safety_stock + quality_control.
    quantities["on_hand"] = sum(value for name, value in level["_q"].items() if name != "incoming")
    return [{"__typename": "InventoryQuantity", "id": f"{level['id']}&name={name}", "name": name,
             "quantity": quantities[name], "updatedAt": level["updatedAt"]} for name in names]


def variant_inventory_quantity(variant, info):
    ctx: Context = info.context
    return sum(lv["_q"]["available"] for lv in ctx.store.items_levels(ctx.shop, variant["inventoryItem"]))


def variant_available_for_sale(variant, info):
    if variant["inventoryPolicy"] == "CONTINUE" or not variant["inventoryItem"]["tracked"]:
        return True
    return variant_inventory_quantity(variant, info) > 0


def product_variants(product, info, first=None, last=None, after=None, before=None, reverse=False,
                     sortKey="POSITION"):
    if sortKey not in ("POSITION", "ID"):  # a product's variants keep their creation order here
        raise GraphQLError(f"fake Shopify does not implement Product.variants(sortKey: {sortKey})")
    return paginate(product["_variants"], _by_id, first=first, last=last, after=after, before=before,
                    reverse=bool(reverse))


def product_total_inventory(product, info):
    return sum(variant_inventory_quantity(v, info) for v in product["_variants"])


def product_tracks_inventory(product, info):
    return any(v["inventoryItem"]["tracked"] for v in product["_variants"])


def order_line_items(order, info, first=None, last=None, after=None, before=None, reverse=False):
    return paginate(order["_lines"], _by_id, first=first, last=last, after=after, before=before,
                    reverse=bool(reverse))


def shipment_line_items(shipment, info, first=None, last=None, after=None, before=None, reverse=False, query=None,
                        sortKey="ID"):
    if query:
        raise GraphQLError("fake Shopify does not implement InventoryShipment.lineItems(query:)")
    return paginate(shipment["_lines"], _by_id, first=first, last=last, after=after, before=before,
                    reverse=bool(reverse))


def _shipment_total(key):
    def resolve(shipment, info):
        return sum(sum(line[k] for k in key) for line in shipment["_lines"])
    return resolve


def owner_metafield(owner, info, key, namespace=None):
    ns = mf.app_namespace(info.context.api_client_id, namespace)
    return owner["_metafields"].get((ns, key))


def owner_metafields(owner, info, first=None, last=None, after=None, before=None, reverse=False,
                     namespace=None, keys=None):
    api_id = info.context.api_client_id
    items = list(owner["_metafields"].values())
    if namespace is not None:
        items = [m for m in items if m["namespace"] == mf.app_namespace(api_id, namespace)]
    if keys is not None:
        wanted = set()
        for full_key in keys:
            ns, _, key = full_key.rpartition(".")
            wanted.add((mf.app_namespace(api_id, ns or None), key))
        items = [m for m in items if (m["namespace"], m["key"]) in wanted]
    return paginate(items, _by_id, first=first, last=last, after=after, before=before, reverse=bool(reverse))


# -- mutations --------------------------------------------------------------------------------------
TAGGABLE = ("Order", "Product", "Customer")


def m_tags_add(_root, info, id, tags):
    ctx: Context = info.context
    kind = parse_gid(id)
    obj = _lookup(ctx, id)
    type_name = kind[0] if kind else "Resource"
    if obj is not None and obj["__typename"] in WRITE_SCOPE_BY_TYPE:
        require(ctx, WRITE_SCOPE_BY_TYPE[obj["__typename"]], "tagsAdd")
    if obj is None or obj["__typename"] not in TAGGABLE:
        return {"node": None, "userErrors": [{"field": ["id"], "message": f"{type_name} does not exist"}]}
    # Each entry may itself be a comma-separated list ("a, b"), per the tagsAdd docs.
    clean = [part.strip() for tag in tags for part in tag.split(",") if part.strip()]
    obj.setdefault("tags", [])
    if ctx.store.add_tags(obj, clean) and obj["__typename"] == "Order":
        ctx.events.append(("orders/updated", obj["id"]))
    return {"node": obj, "userErrors": []}


def m_metafields_set(_root, info, metafields):
    ctx: Context = info.context
    error = mf.too_many(len(metafields))
    if error:
        return {"metafields": None, "userErrors": [error]}
    errors: list[dict] = []
    planned: list[tuple[dict, str, str, str, str]] = []
    for index, entry in enumerate(metafields):
        owner = _lookup(ctx, entry["ownerId"])
        if owner is None or "_metafields" not in owner:
            errors.append(mf.user_error(["metafields", str(index), "ownerId"], "Owner does not exist.", "INVALID"))
            continue
        if owner["__typename"] in WRITE_SCOPE_BY_TYPE:
            require(ctx, WRITE_SCOPE_BY_TYPE[owner["__typename"]], "metafieldsSet")
        namespace = mf.app_namespace(ctx.api_client_id, entry.get("namespace"))
        key = entry["key"]
        definition = ctx.shop.definitions.get((owner["__typename"].upper(), namespace, key))
        problem = mf.shape_error(index, namespace, key, entry.get("type"), definition, ctx.api_client_id)
        if problem is None:
            type_ = entry.get("type") or definition
            problem = mf.value_error(index, type_, entry["value"])
        if problem is not None:
            errors.append(problem)
            continue
        stored = owner["_metafields"].get((namespace, key))
        digest = entry.get("compareDigest", "<absent>")
        if digest != "<absent>" and digest != (stored["compareDigest"] if stored else None):
            errors.append(mf.user_error(["metafields", str(index)], "The resource has been updated since it was "
                                        "loaded. Try again with an updated `compareDigest` value.", "STALE_OBJECT"))
            continue
        planned.append((owner, namespace, key, entry.get("type") or definition, entry["value"]))
    if errors:
        return {"metafields": [], "userErrors": errors}
    written = [ctx.store.set_metafield(ctx.shop, *plan) for plan in planned]
    return {"metafields": written, "userErrors": []}


def m_metafields_delete(_root, info, metafields):
    """Up to 25 identifiers (changelog "Introducing metafieldsDelete", 2024-04); a metafield that
    does not exist is not an error: its slot in deletedMetafields is null."""
    ctx: Context = info.context
    error = mf.too_many(len(metafields))
    if error:
        return {"deletedMetafields": None, "userErrors": [error]}
    deleted = []
    for index, entry in enumerate(metafields):
        owner = _lookup(ctx, entry["ownerId"])
        if owner is None or "_metafields" not in owner:
            deleted.append(None)
            continue
        if owner["__typename"] in WRITE_SCOPE_BY_TYPE:
            require(ctx, WRITE_SCOPE_BY_TYPE[owner["__typename"]], "metafieldsDelete")
        namespace = mf.app_namespace(ctx.api_client_id, entry.get("namespace"))
        if namespace.startswith("app--") and namespace.split("--")[1] != str(ctx.api_client_id):
            return {"deletedMetafields": None, "userErrors": [mf.user_error(
                ["metafields", str(index)], "Access to this namespace and key on Metafields for this resource "
                "type is not allowed.", None)]}
        removed = ctx.store.delete_metafield(owner, namespace, entry["key"])
        deleted.append({"ownerId": owner["id"], "namespace": namespace, "key": entry["key"]} if removed else None)
    return {"deletedMetafields": deleted, "userErrors": []}


QUERY_ROOT = {
    "shop": q_shop, "node": q_node, "nodes": q_nodes, "orders": q_orders,
    "order": _typed("Order", "read_orders", "order"),
    "product": _typed("Product", "read_products", "product"),
    "productVariant": _typed("ProductVariant", "read_products", "productVariant"),
    "inventoryItem": _typed("InventoryItem", "read_inventory", "inventoryItem"),
    "inventoryShipments": q_inventory_shipments,
    "inventoryShipment": _typed("InventoryShipment", "read_inventory_shipments", "inventoryShipment"),
}
MUTATION_ROOT = {"tagsAdd": m_tags_add, "metafieldsSet": m_metafields_set, "metafieldsDelete": m_metafields_delete}
OBJECT_FIELDS = {
    ("InventoryItem", "inventoryLevels"): item_levels,
    ("InventoryItem", "inventoryLevel"): item_level,
    ("InventoryLevel", "quantities"): level_quantities,
    ("ProductVariant", "inventoryQuantity"): variant_inventory_quantity,
    ("ProductVariant", "availableForSale"): variant_available_for_sale,
    ("Product", "variants"): product_variants,
    ("Product", "totalInventory"): product_total_inventory,
    ("Product", "tracksInventory"): product_tracks_inventory,
    ("Order", "lineItems"): order_line_items,
    ("InventoryShipment", "lineItems"): shipment_line_items,
    ("InventoryShipment", "tracking"): lambda shipment, info: sh.tracking(shipment),
    ("InventoryShipment", "lineItemTotalQuantity"): _shipment_total(("quantity",)),
    ("InventoryShipment", "totalAcceptedQuantity"): _shipment_total(("acceptedQuantity",)),
    ("InventoryShipment", "totalRejectedQuantity"): _shipment_total(("rejectedQuantity",)),
    ("InventoryShipment", "totalReceivedQuantity"): _shipment_total(("acceptedQuantity", "rejectedQuantity")),
    ("InventoryShipmentLineItem", "unreceivedQuantity"): lambda line, info: sh.unreceived(line),
}
METAFIELD_OWNERS = ("Order", "Product", "ProductVariant", "Customer", "Shop")


def install(schema: GraphQLSchema) -> None:
    from . import bulk, catalog, refunds  # late import: they import this module

    query_root = {**QUERY_ROOT, **catalog.QUERY_ROOT, **bulk.QUERY_ROOT, **refunds.QUERY_ROOT}
    mutation_root = {**MUTATION_ROOT, **bulk.MUTATION_ROOT, **refunds.MUTATION_ROOT}
    for type_ in schema.type_map.values():
        if isinstance(type_, (GraphQLInterfaceType, GraphQLUnionType)):
            type_.resolve_type = resolve_type
    for name, field_def in schema.query_type.fields.items():
        field_def.resolve = query_root.get(name) or not_implemented(name)
    for name, field_def in schema.mutation_type.fields.items():
        field_def.resolve = mutation_root.get(name) or not_implemented(name)
    for (type_name, field_name), resolver in {**OBJECT_FIELDS, **refunds.OBJECT_FIELDS}.items():
        schema.type_map[type_name].fields[field_name].resolve = resolver
    for type_name in METAFIELD_OWNERS:
        fields = schema.type_map[type_name].fields
        fields["metafield"].resolve = owner_metafield
        fields["metafields"].resolve = owner_metafields
