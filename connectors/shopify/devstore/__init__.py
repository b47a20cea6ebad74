"""A faithful fake Shopify ("dev store") for the test-suite and the `make run` demo.

It serves Shopify's OAuth endpoints (token exchange, refresh, authorization code) and the Admin
GraphQL API, executing documents against Shopify's real published schema with Shopify's cost and
throttling rules, and sends webhooks built from Shopify's own exemplar payloads, signed as Shopify
signs them. See `FakeShopify` for the store-manipulation API.
"""
from .data import ShopifyDataMissing, default_data_dir
from .fake import Call, FakeShopify
from .store import StoreError
from .tokens import OAuthError
from .webhooks import Delivery, sign

__all__ = ["Call", "Delivery", "FakeShopify", "OAuthError", "ShopifyDataMissing", "StoreError",
           "default_data_dir", "sign"]
