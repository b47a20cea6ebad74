"""The shop's whole catalogue in the app's database (services.sync_catalog), so ETAs can be shown
for every variant that is out of stock and sold anyway, not only for those an order touched."""
