"""Privacy requests a platform sends on behalf of a customer or a merchant (Shopify's mandatory
compliance webhooks): export what the app holds about a customer, erase it, erase a whole shop.

What counts as personal here: an order's email, customer name and customer locale; an email in
the outbox (recipient, subject, bodies, locale, last error); the raw webhook payloads kept in the
inbox (names, addresses, phone numbers); the data-request exports this package itself stores;
and an address quoted in an error message (job runs, inbox reasons). Orders, their lines and
backorders stay after a customer is erased: they say what was bought, not by whom, and the
merchant's counts and ETAs depend on them.
"""
