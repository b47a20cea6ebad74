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

ALL_OPERATIONS: dict[str, str] = {
    "ShopInfo": SHOP_INFO,
    "VariantInventory": VARIANT_INVENTORY,
    "OrderTagsAdd": ORDER_TAGS_ADD,
    "OrderMetafieldsSet": ORDER_METAFIELDS_SET,
    "RecentOrders": RECENT_ORDERS,
    "OrdersUpdatedSince": ORDERS_UPDATED_SINCE,
    "OrderLineItems": ORDER_LINE_ITEMS,
    "IncomingShipments": INCOMING_SHIPMENTS,
    "InventoryShipmentLineItems": INVENTORY_SHIPMENT_LINE_ITEMS,
    "InventoryShipmentsById": INVENTORY_SHIPMENTS_BY_ID,
}
