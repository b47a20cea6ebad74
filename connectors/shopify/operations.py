"""Every GraphQL document the app sends to Shopify, as named operations in one place.

tests/test_shopify_graphql.py validates each one against Shopify's real Admin schema of the
pinned API version, so a typo or a removed field fails the suite instead of a merchant's job.
"""
from __future__ import annotations

SHOP_INFO = """
query ShopInfo {
  shop {
    id
    name
    myshopifyDomain
    email
    currencyCode
    ianaTimezone
  }
}
"""

# Sellable stock per location of several variants at once: one call per order, not per line.
VARIANT_INVENTORY = """
query VariantInventory($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on ProductVariant {
      id
      sku
      displayName
      inventoryPolicy
      product { id }
      inventoryItem {
        id
        tracked
        inventoryLevels(first: 20) {
          edges {
            node {
              location { id }
              quantities(names: ["available"]) { name quantity }
            }
          }
        }
      }
    }
  }
}
"""

# -- the catalogue (connectors/shopify/catalog.py) ---------------------------------------------
# One selection for both ways of reading it, so paging and the bulk export see the same fields.
# inventoryLevels(first: 10) keeps a page of 25 variants near 880 points even by the linear rule
# (2 + 25 x (1 + product 1 + inventoryItem 1 + levels 2 + 10 x 3)); a variant stocked at more
# locations has the rest read with VariantInventoryLevels. In the bulk query `first` and
# `pageInfo` are ignored (and left out), and a connection must be selected through edges > node.
_CATALOG_VARIANT = """
        id
        sku
        displayName
        inventoryPolicy
        product { id title handle }
        inventoryItem {
          tracked
          inventoryLevels%(levels_args)s {
            edges {
              node {
                location { id }
                quantities(names: ["available"]) { name quantity }
              }
            }%(levels_page_info)s
          }
        }"""

# How many variants the shop has, counted up to `limit` (precision AT_LEAST when it reached it).
CATALOG_SIZE = """
query CatalogSize($limit: Int) {
  productVariantsCount(limit: $limit) { count precision }
}
"""

CATALOG_VARIANTS = """
query CatalogVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    edges {
      cursor
      node {%s
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""" % (_CATALOG_VARIANT % {"levels_args": "(first: 10)",
                           "levels_page_info": "\n            pageInfo { hasNextPage endCursor }"})

# The rest of a variant's inventory levels, past the first 10 (a shop with many locations).
VARIANT_INVENTORY_LEVELS = """
query VariantInventoryLevels($id: ID!, $first: Int!, $after: String) {
  productVariant(id: $id) {
    inventoryItem {
      inventoryLevels(first: $first, after: $after) {
        edges {
          cursor
          node {
            location { id }
            quantities(names: ["available"]) { name quantity }
          }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""

# The bulk export's own query: not sent as an operation but as bulkOperationRunQuery's `query`
# argument (Shopify runs it; it is validated against the schema in tests/test_devstore_bulk.py).
CATALOG_BULK_QUERY = """
query CatalogBulk {
  productVariants {
    edges {
      node {%s
      }
    }
  }
}
""" % (_CATALOG_VARIANT % {"levels_args": "", "levels_page_info": ""})

# groupObjects: false is the default from 2026-01 (grouping is slower and times out more); the
# reader rebuilds variants from __parentId and does not rely on children following parents.
CATALOG_BULK_RUN = """
mutation CatalogBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

# Polling one operation (bulkOperation(id:) is the 2026-01+ way; currentBulkOperation is deprecated).
BULK_OPERATION_STATUS = """
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) {
    id
    status
    errorCode
    objectCount
    fileSize
    url
    partialDataUrl
  }
}
"""

# The app's recent bulk queries, newest first (the default order): an identical catalogue export still running (a
# crashed sync, another process) is waited for instead of starting a second one.
RECENT_BULK_QUERIES = """
query RecentBulkQueries {
  bulkOperations(first: 10, query: "operation_type:query") {
    edges {
      node { id status createdAt query }
    }
  }
}
"""

BULK_QUERIES: dict[str, str] = {"CatalogBulk": CATALOG_BULK_QUERY}

ORDER_TAGS_ADD = """
mutation OrderTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

ORDER_METAFIELDS_SET = """
mutation OrderMetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key }
    userErrors { field message code }
  }
}
"""

# Cursor-paged walk over recent orders: ids and update times only.
RECENT_ORDERS = """
query RecentOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges {
      cursor
      node { id legacyResourceId updatedAt }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# Reconciliation (webhooks are not guaranteed): the orders updated since a time, oldest update
# first, with what the backorder service reads from an order webhook. Line items come 250 at a
# time; a longer order is read to the end with OrderLineItems. unfulfilledQuantity and
# currentQuantity together say how many units are still owed (fulfilled, removed and refunded
# units are not). The customer's email is read from Order.email (Customer.email is deprecated).
ORDERS_UPDATED_SINCE = """
query OrdersUpdatedSince($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges {
      cursor
      node {
        id
        legacyResourceId
        name
        email
        customerLocale
        currencyCode
        createdAt
        updatedAt
        cancelledAt
        customer { firstName lastName }
        lineItems(first: 250) {
          nodes {
            id
            name
            title
            sku
            quantity
            currentQuantity
            unfulfilledQuantity
            originalUnitPriceSet { shopMoney { amount } }
            variant { id }
          }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ORDER_LINE_ITEMS = """
query OrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          name
          title
          sku
          quantity
          currentQuantity
          unfulfilledQuantity
          originalUnitPriceSet { shopMoney { amount } }
          variant { id }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# Shopify's own incoming stock: inventory shipments on their way (the "incoming" quantity of the
# destination's inventory levels), with the expected arrival from their tracking. Needs the
# read_inventory_shipments scope. Shipment lines come 250 at a time; a longer shipment is read
# to the end with InventoryShipmentLineItems.
INCOMING_SHIPMENTS = """
query IncomingShipments($first: Int!, $after: String, $query: String) {
  inventoryShipments(first: $first, after: $after, query: $query) {
    edges {
      cursor
      node {
        id
        name
        status
        dateShipped
        dateReceived
        tracking { arrivesAt trackingNumber }
        lineItems(first: 250) {
          nodes {
            id
            quantity
            unreceivedQuantity
            acceptedQuantity
            rejectedQuantity
            inventoryItem { id sku }
          }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

INVENTORY_SHIPMENT_LINE_ITEMS = """
query InventoryShipmentLineItems($id: ID!, $first: Int!, $after: String) {
  inventoryShipment(id: $id) {
    lineItems(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          quantity
          unreceivedQuantity
          acceptedQuantity
          rejectedQuantity
          inventoryItem { id sku }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# The current state of shipments the app still holds open but that left the in-transit list
# (received, or withdrawn): null for a shipment that no longer exists.
INVENTORY_SHIPMENTS_BY_ID = """
query InventoryShipmentsById($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on InventoryShipment {
        id
      name
      status
      dateShipped
      dateReceived
      tracking { arrivesAt trackingNumber }
      lineItems(first: 250) {
        nodes {
          id
          quantity
          unreceivedQuantity
          acceptedQuantity
          rejectedQuantity
          inventoryItem { id sku }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""

# The storefront's ETA on variants: 25 metafields a call (Shopify's limit for both mutations).
# Only userErrors are selected: the payload's metafields would add points to every call.
VARIANT_ETAS_SET = """
mutation VariantEtasSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    userErrors { field message code elementIndex }
  }
}
"""

VARIANT_ETAS_DELETE = """
mutation VariantEtasDelete($metafields: [MetafieldIdentifierInput!]!) {
  metafieldsDelete(metafields: $metafields) {
    userErrors { field message }
  }
}
"""

# -- refunding one backordered line (connectors/shopify/refunds.py) -------------------------------
# The order as a refund needs it: its presentment currency, the refunds already made (a retry
# finds its own by the note's reference), and every line's units still to ship.
REFUND_ORDER_STATE = """
query RefundOrderState($id: ID!) {
  order(id: $id) {
    id
    presentmentCurrencyCode
    cancelledAt
    refunds(first: 100) { id note }
    lineItems(first: 250) {
      nodes { id quantity currentQuantity unfulfilledQuantity requiresShipping }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

REFUND_ORDER_LINE_ITEMS = """
query RefundOrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) {
      edges {
        cursor
        node { id quantity currentQuantity unfulfilledQuantity requiresShipping }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# What Shopify would refund for the line (and the shipping, when nothing else is left to ship):
# the amounts and the transactions to refund them through, from the order's own payments.
SUGGESTED_LINE_REFUND = """
query SuggestedLineRefund($id: ID!, $refundLineItems: [RefundLineItemInput!], $refundShipping: Boolean) {
  order(id: $id) {
    id
    suggestedRefund(refundLineItems: $refundLineItems, refundShipping: $refundShipping) {
      amountSet { presentmentMoney { amount currencyCode } }
      shipping {
        amountSet { presentmentMoney { amount currencyCode } }
      }
      suggestedTransactions {
        gateway
        kind
        amountSet { presentmentMoney { amount currencyCode } }
        parentTransaction { id }
      }
    }
  }
}
"""

# The refund itself. Since 2026-04 refundCreate requires the @idempotent directive: a retry with
# the same key and input answers the first result instead of refunding again.
REFUND_LINE_CREATE = """
mutation RefundLineCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { id }
    userErrors { field message }
  }
}
"""

ALL_OPERATIONS: dict[str, str] = {
    "ShopInfo": SHOP_INFO,
    "VariantInventory": VARIANT_INVENTORY,
    "CatalogSize": CATALOG_SIZE,
    "CatalogVariants": CATALOG_VARIANTS,
    "VariantInventoryLevels": VARIANT_INVENTORY_LEVELS,
    "CatalogBulkRun": CATALOG_BULK_RUN,
    "BulkOperationStatus": BULK_OPERATION_STATUS,
    "RecentBulkQueries": RECENT_BULK_QUERIES,
    "OrderTagsAdd": ORDER_TAGS_ADD,
    "OrderMetafieldsSet": ORDER_METAFIELDS_SET,
    "RecentOrders": RECENT_ORDERS,
    "OrdersUpdatedSince": ORDERS_UPDATED_SINCE,
    "OrderLineItems": ORDER_LINE_ITEMS,
    "IncomingShipments": INCOMING_SHIPMENTS,
    "InventoryShipmentLineItems": INVENTORY_SHIPMENT_LINE_ITEMS,
    "InventoryShipmentsById": INVENTORY_SHIPMENTS_BY_ID,
    "VariantEtasSet": VARIANT_ETAS_SET,
    "VariantEtasDelete": VARIANT_ETAS_DELETE,
    "RefundOrderState": REFUND_ORDER_STATE,
    "RefundOrderLineItems": REFUND_ORDER_LINE_ITEMS,
    "SuggestedLineRefund": SUGGESTED_LINE_REFUND,
    "RefundLineCreate": REFUND_LINE_CREATE,
}
