"""Message catalogues, one module per language, each a flat {key: text} map.

Every language has exactly the same keys and, per key, the same {placeholders}
(tests/test_notifications_render.py checks it). Texts avoid counted nouns ("Quantity: 3"), so
no plural rules are needed.
"""
