"""Texts in the customer's language, and the merchant's own subjects and intros.

Placeholders are `{name}` and nothing else: merchants write subject and intro overrides, so they
are filled by a plain substitution (no attribute access, no format specs), and an unknown
placeholder is left as written rather than failing the message.
"""
from __future__ import annotations

import re

from plugin.locales import DEFAULT_LOCALE
from plugin.notifications.locales import en, pl

CATALOGUES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "pl": pl.MESSAGES}
LOCALES = tuple(CATALOGUES)

PLACEHOLDER = re.compile(r"\{(\w+)\}")




def fill(text: str, values: dict[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def translate(locale: str, key: str, **values: object) -> str:
    catalogue = CATALOGUES.get(locale, CATALOGUES[DEFAULT_LOCALE])
    return fill(catalogue.get(key) or CATALOGUES[DEFAULT_LOCALE][key], values)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))
