"""Turn a message's context into its subject, plain-text part and HTML part.

The context (see contexts.py) is plain JSON: what the message says, with dates as ISO strings,
already in the outbox row. Rendering is a pure function of it (and the customer's name, which
the context does not keep), so a preview, a test and the outbox render the same thing.

HTML templates are autoescaped; a product title is data, never markup. The stylesheet in
base.html is inlined into style attributes (css-inline), because many mail clients drop or
ignore <style>; only the @media rules for small screens stay in a <style> element, as an
improvement where they are understood.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit

import css_inline
from babel.dates import format_date
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from plugin.locales import choose_locale
from plugin.notifications.catalog import fill, translate

DEFAULT_BRAND_COLOR = "#2f5d50"
HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # The loaded templates are an immutable cache; nothing else is kept between calls.
    return Environment(
        loader=PackageLoader("plugin.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False)


def render(context: dict, *, customer_name: str | None = None) -> Rendered:
    kind = context["kind"]
    locale = choose_locale(context.get("locale"))
    values = _template_values(context, locale, customer_name)
    env = _environment()
    text = env.get_template(f"{kind}.txt").render(values)
    html = env.get_template(f"{kind}.html").render(values)
    return Rendered(subject=values["subject"], text=_tidy_text(text), html=_inliner().inline(html))


def format_day(value: str | date | None, locale: str) -> str | None:
    """A date the way the customer's language writes it: "15 December 2026", "15 grudnia 2026"."""
    if not value:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return format_date(day, format="long", locale=locale)


def brand_color(value: object) -> str:
    return value if isinstance(value, str) and HEX_COLOR.match(value) else DEFAULT_BRAND_COLOR


def text_on(color: str) -> str:
    """Black or white, whichever reads better on the brand colour (WCAG relative luminance)."""
    hex_digits = color[1:]
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    channels = [int(hex_digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#1f2421" if luminance > 0.35 else "#ffffff"


def web_url(value: object, *, https_only: bool = False) -> str | None:
    """The URL if it is an absolute http(s) one; anything else (javascript:, data:) is dropped."""
    if not isinstance(value, str) or not value.strip():
        return None
    parts = urlsplit(value.strip())
    allowed = ("https",) if https_only else ("http", "https")
    return value.strip() if parts.scheme.lower() in allowed and parts.netloc else None


def subject_values(context: dict, locale: str, customer_name: str | None) -> dict[str, object]:
    """What subject and intro texts (and merchants' overrides) may refer to as {placeholders}."""
    shop, order = context.get("shop") or {}, context.get("order") or {}
    lines = context.get("lines") or []
    change = context.get("change") or {}
    return {
        "shop_name": shop.get("name") or "",
        "order_name": order.get("name") or "",
        "customer_name": customer_name or "",
        "item": lines[0].get("title") if lines else "",
        "old_date": format_day(change.get("old_date"), locale) or "",
        "new_date": format_day(change.get("new_date"), locale) or "",
        "date": format_day((context.get("digest") or {}).get("day"), locale) or "",
    }


def subject_of(context: dict, customer_name: str | None = None) -> str:
    """The subject alone (what render() would put in it), for rows not rendered (yet)."""
    locale = choose_locale(context.get("locale"))
    return _text(context, locale, "subject", subject_values(context, locale, customer_name), one_line=True)


def _text(context: dict, locale: str, part: str, placeholders: dict, *, one_line: bool = False) -> str:
    """The merchant's subject or intro for this kind and language, else ours, filled in."""
    own = (context.get("texts") or {}).get(part)
    text = fill(own, placeholders) if own else translate(locale, f"{context['kind']}.{part}", **placeholders)
    return " ".join(text.split()) if one_line else text


def _template_values(context: dict, locale: str, customer_name: str | None) -> dict[str, object]:
    kind = context["kind"]
    placeholders = subject_values(context, locale, customer_name)
    subject = _text(context, locale, "subject", placeholders, one_line=True)  # a header: one line
    intro = _text(context, locale, "intro", placeholders)
    shop = dict(context.get("shop") or {})
    color = brand_color(shop.get("brand_color"))
    links = {name: web_url(url) for name, url in (context.get("links") or {}).items()}

    def t(key: str, **values: object) -> str:
        return translate(locale, key, **values)

    def day(value) -> str | None:
        return format_day(value, locale)

    greeting = t("common.greeting", name=customer_name) if customer_name else t("common.greeting_anonymous")
    return {
        "kind": kind,
        "locale": locale,
        "t": t,
        "day": day,
        "subject": subject,
        "intro_paragraphs": [" ".join(p.split()) for p in re.split(r"\n\s*\n", intro) if p.strip()],
        "greeting": greeting,
        "shop": shop,
        "shop_url": web_url(shop.get("url")),
        "logo_url": web_url(shop.get("logo_url"), https_only=True),
        "brand": color,
        "brand_text": text_on(color),
        "reply_to": (context.get("envelope") or {}).get("reply_to"),
        "order": context.get("order") or {},
        "lines": context.get("lines") or [],
        "change": context.get("change") or {},
        "links": links,
        "expires_on": context.get("expires_on"),
        "approval_required": bool(context.get("approval_required")),
        "extra": context.get("extra") or {},
        "digest": context.get("digest") or {},
    }


def _tidy_text(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
