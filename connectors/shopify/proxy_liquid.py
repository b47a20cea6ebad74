"""The backorder landing page as Liquid source, for Shopify to render inside the shop's theme.

An app proxy answer with `Content-Type: application/liquid` is not shown as it is: Shopify
renders it as Liquid within the theme's layout, so the page wears the shop's header, footer and
styles (https://shopify.dev/docs/apps/build/online-store/app-proxies, "Liquid response").

That makes every value from data a Liquid injection risk: a product titled `{{ customer.email }}`
would run on Shopify's side (https://shopify.dev/docs/apps/build/security/app-security-checks/
app-proxy-liquid-injection). `liquid_text` therefore HTML-escapes each value and turns its braces
into character references (`&#123;` `&#125;`): the browser shows the braces, while Liquid never
sees a `{{` or `{%`. (A `{% raw %}` wrapper would not do: data containing `{% endraw %}` escapes it.)

Dates: Shopify does not tell a proxy the storefront's language (it adds only shop,
logged_in_customer_id, path_prefix, timestamp and signature to the query:
https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies), so the
dates are left to Liquid's `date` filter with a locale-aware format, which Shopify renders in the
storefront's own language (https://shopify.dev/docs/api/liquid/filters/date, `format:`). Our own
few words follow the `locale` query parameter (a theme links here with
`?locale={{ request.locale.iso_code }}`) or the shopper's Accept-Language.
"""
from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import quote, urlencode

from plugin.storefront.availability import BackorderPage, VariantAvailability, messages

# Shopify names the only variant of a product without options "Default Title"; shoppers never see it.
DEFAULT_VARIANT_TITLE = "Default Title"
# The locale-aware format of Liquid's date filter ("April 14, 2022" in English).
LIQUID_DATE_FORMAT = "date"


def liquid_text(value: object) -> str:
    """Any value, safe as HTML text or attribute inside a Liquid template."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def liquid_date(value: date) -> str:
    """A date Shopify formats in the storefront's language, with the ISO date for machines.

    The literal carries noon: a bare date is read as midnight, and in a time zone behind the one
    it is parsed in it would show the day before; noon keeps the calendar day from UTC-12 to +12.
    """
    iso = value.isoformat()  # digits and dashes only: nothing to escape
    return f"<time datetime=\"{iso}\">{{{{ '{iso}T12:00:00' | date: format: '{LIQUID_DATE_FORMAT}' }}}}</time>"


def product_url(item: VariantAvailability) -> str | None:
    if not item.product_handle:
        return None
    return f"/products/{quote(item.product_handle, safe='')}?variant={quote(item.platform_variant_id, safe='')}"


def item_name(item: VariantAvailability) -> str:
    product = item.product_title or item.sku or item.platform_variant_id
    if item.variant_title and item.variant_title != DEFAULT_VARIANT_TITLE:
        return f"{product} — {item.variant_title}"
    return product


def render_backorder_page(page: BackorderPage, locale: str, *, keep_locale: bool = False) -> str:
    """The page body (the theme supplies the layout); `keep_locale` carries ?locale= into page links."""
    text = messages(locale)
    out = [f'<section class="backorder-desk-landing" lang="{liquid_text(locale)}">',
           f"<h1>{liquid_text(text['heading'])}</h1>"]
    if not page.items:
        out.append(f"<p>{liquid_text(text['empty'])}</p>")
    else:
        out.append(f"<p>{liquid_text(text['intro'])}</p>")
        out.append('<ul class="backorder-desk-items">')
        out.extend(_item(item, text) for item in page.items)
        out.append("</ul>")
    nav = _pages(page, text, locale if keep_locale else None)
    if nav:
        out.append(nav)
    out.append("</section>")
    return "\n".join(out) + "\n"


def _item(item: VariantAvailability, text: dict[str, str]) -> str:
    name = liquid_text(item_name(item))
    url = product_url(item)
    title = f'<a href="{liquid_text(url)}">{name}</a>' if url else name
    parts = [f'<li class="backorder-desk-item" data-variant-id="{liquid_text(item.platform_variant_id)}">',
             f'<span class="backorder-desk-item__title">{title}</span>']
    if item.promise is not None:
        parts.append(f'<span class="backorder-desk-item__promise">{liquid_text(text["ships_by"])} '
                     f"{liquid_date(item.promise)}</span>")
    if item.earliest is not None and item.latest is not None and item.earliest != item.latest:
        parts.append('<span class="backorder-desk-item__range">'
                     + _fill(text["expected"], earliest=liquid_date(item.earliest), latest=liquid_date(item.latest))
                     + "</span>")
    parts.append("</li>")
    return "".join(parts)


def _pages(page: BackorderPage, text: dict[str, str], locale: str | None) -> str | None:
    if page.page == 1 and not page.has_next:
        return None

    def href(number: int) -> str:
        # Relative to the storefront URL Shopify proxied (its prefix and subpath are the merchant's).
        query = {"page": number, **({"locale": locale} if locale else {})}
        return liquid_text("?" + urlencode(query))

    links = ['<nav class="backorder-desk-pages">']
    if page.page > 1:
        links.append(f'<a href="{href(page.page - 1)}" rel="prev">{liquid_text(text["previous"])}</a>')
    links.append(f"<span>{liquid_text(text['page'].format(page=page.page))}</span>")
    if page.has_next:
        links.append(f'<a href="{href(page.page + 1)}" rel="next">{liquid_text(text["next"])}</a>')
    links.append("</nav>")
    return " ".join(links)


def _fill(template: str, **markup: str) -> str:
    """Escape a message and put ready markup in its {name} placeholders."""
    pieces = re.split(r"\{(\w+)\}", template)
    return "".join(markup[piece] if i % 2 else liquid_text(piece) for i, piece in enumerate(pieces))
