"""Texts in the customer's language, and the merchant's own subjects and intros.

Placeholders are `{name}` and nothing else: merchants write subject and intro overrides, so they
are filled by a plain substitution (no attribute access, no format specs), and an unknown
placeholder is left as written rather than failing the message.
"""
from __future__ import annotations

import re

from plugin.notifications.locales import en, pl

CATALOGUES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "pl": pl.MESSAGES}
LOCALES = tuple(CATALOGUES)
DEFAULT_LOCALE = "en"

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def choose_locale(*candidates: str | None) -> str:
    """The first supported language among the candidates (`pl`, `pl-PL`, `pl_PL`), else English."""
    for candidate in candidates:
        if not candidate:
            continue
        language = candidate.strip().replace("_", "-").split("-", 1)[0].lower()
        if language in CATALOGUES:
            return language
    return DEFAULT_LOCALE


def fill(text: str, values: dict[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def translate(locale: str, key: str, **values: object) -> str:
    catalogue = CATALOGUES.get(locale, CATALOGUES[DEFAULT_LOCALE])
    return fill(catalogue.get(key) or CATALOGUES[DEFAULT_LOCALE][key], values)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))
