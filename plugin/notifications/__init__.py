"""Customer and merchant emails: what is said (kinds, catalogues, templates) and the outbox.

Composing (this package's kinds.py, catalog.py, render.py, contexts.py, enqueue.py, digest.py,
preview.py) happens inside the caller's transaction and does no I/O besides that session: a
message is an outbox row (`Notification`) rendered and stored with the event that caused it.
Delivery (outbox.py, smtp.py, eml.py) sends the stored rows later.
"""
