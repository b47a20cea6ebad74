"""The languages the app speaks to customers and merchants, and how one is chosen.

Every text catalogue (emails, the choice pages, the storefront's landing page, the admin) covers
these; a key missing from one falls back to English where that catalogue translates.
"""
from __future__ import annotations

LOCALES = ("en", "pl")
DEFAULT_LOCALE = "en"


def choose_locale(*candidates: object) -> str:
    """The first supported language among the candidates (`pl`, `pl-PL`, `pl_PL`), else English."""
    for candidate in candidates:
        if not candidate:
            continue
        language = str(candidate).strip().replace("_", "-").split("-", 1)[0].lower()
        if language in LOCALES:
            return language
    return DEFAULT_LOCALE
