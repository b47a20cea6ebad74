"""The catalogue's root fields in the dev store: products, productVariants and productVariantsCount.

Sorted by id (the default sort key of both connections); search (`query:`), saved searches and
other sort keys are refused loudly rather than guessed. productVariantsCount counts up to `limit`
(10,000 unless the query says otherwise, `null` for no limit) and says AT_LEAST when it got there.
"""
from __future__ import annotations

from graphql import GraphQLError

from .connections import paginate
from .resolvers import Context, require

DEFAULT_COUNT_LIMIT = 10_000


def _by_id(item: dict) -> int:
    return int(item["legacyResourceId"])


def _unsupported(field: str, query, saved_search_id, sort_key: str) -> None:
    if query is not None:
        raise GraphQLError(f"fake Shopify does not implement {field}(query:)")
    if saved_search_id is not None:
        raise GraphQLError(f"fake Shopify does not implement {field}(savedSearchId:)")
    if sort_key != "ID":
        raise GraphQLError(f"fake Shopify does not implement {field}(sortKey: {sort_key})")


def q_products(_root, info, first=None, last=None, after=None, before=None, query=None, reverse=False,
               sortKey="ID", savedSearchId=None):
    ctx: Context = info.context
    require(ctx, "read_products", "products")
    _unsupported("products", query, savedSearchId, sortKey)
    return paginate(list(ctx.shop.products.values()), _by_id, first=first, last=last, after=after, before=before,
                    reverse=bool(reverse))


def q_product_variants(_root, info, first=None, last=None, after=None, before=None, query=None, reverse=False,
                       sortKey="ID", savedSearchId=None):
    ctx: Context = info.context
    require(ctx, "read_products", "productVariants")
    _unsupported("productVariants", query, savedSearchId, sortKey)
    return paginate(list(ctx.shop.variants.values()), _by_id, first=first, last=last, after=after, before=before,
                    reverse=bool(reverse))


def q_product_variants_count(_root, info, limit=DEFAULT_COUNT_LIMIT, query=None):
    ctx: Context = info.context
    require(ctx, "read_products", "productVariantsCount")
    if query is not None:
        raise GraphQLError("fake Shopify does not implement productVariantsCount(query:)")
    total = len(ctx.shop.variants)
    if limit is not None and total >= limit:
        return {"__typename": "Count", "count": limit, "precision": "AT_LEAST"}
    return {"__typename": "Count", "count": total, "precision": "EXACT"}


QUERY_ROOT = {
    "products": q_products,
    "productVariants": q_product_variants,
    "productVariantsCount": q_product_variants_count,
}
