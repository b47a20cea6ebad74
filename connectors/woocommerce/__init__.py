"""WooCommerce connector: the /wc-auth connect flow (connect.py), the REST client (client.py), webhook
verification and handlers (webhooks.py), orders and stock in the app's terms (orders.py, stock.py),
what the app writes back (marks.py, refunds.py) and the app's webhooks in the store
(subscriptions.py). `connector.WooCommerceConnector` implements connectors.base.Connector and is
registered in connectors/registry.py. The fake store for tests is devstore/, the WordPress
companion plugin wordpress-plugin/."""
