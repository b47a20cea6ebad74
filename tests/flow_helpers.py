"""Small steps shared by end-to-end tests: install a shop through token exchange, drain the inbox."""
from __future__ import annotations

from webhooks.worker import InboxWorker


def install_shop(runtime, fake_shopify, domain: str) -> None:
    """What Shopify's managed install does when the merchant opens the app."""
    from connectors.shopify.tokens import ShopifyTokens

    ShopifyTokens(runtime).install_with_session_token(domain, fake_shopify.session_token(domain))


def drain(runtime, limit: int = 100) -> int:
    """Run the worker until nothing is due; bounded so a bug cannot loop forever."""
    worker = InboxWorker(runtime)
    total = 0
    for _ in range(limit):
        done = worker.run_once()
        if not done:
            return total
        total += done
    raise AssertionError("inbox did not drain")
