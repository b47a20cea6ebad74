"""Suppliers and their feeds: who supplies which SKUs, and the incoming stock their feeds report.

`feeds` reads and validates rows (no I/O), `fetch` downloads a feed over HTTP(S), `services`
holds the use cases (create a supplier, sync its feed, sync Shopify's own incoming shipments),
each applying its changes in one transaction.
"""
