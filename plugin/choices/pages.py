"""The choice pages: an Outcome in words, as a page body (Shopify renders it as Liquid in the
shop's theme) or as a whole HTML document (served by the app on other platforms).

Every value is escaped for HTML and has its braces turned into character references, so neither
a browser nor Liquid ever runs anything from data: an item called `{{ customer.email }}` shows as
typed (https://shopify.dev/docs/apps/build/security/app-security-checks/app-proxy-liquid-injection).
Dates are written with Babel in the order's language.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_date

from plugin.choices.services import Outcome
from plugin.choices.texts import text

# Answers of the app-served page (the proxy always answers 200: Shopify renders only that in the theme).
STATUS = {"confirm": 200, "changed": 200, "kept": 200, "refunded": 200, "refunding": 202,
          "awaiting_approval": 202, "failed": 200, "rejected": 200, "used": 409, "not_open": 409,
          "invalid": 404, "expired": 410}


def escape(value: object) -> str:
    """Safe as HTML text or attribute, and inert as Liquid."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


@dataclass
class Form:
    action: str
    token: str
    nonce: str
    button: str


@dataclass
class Page:
    state: str
    locale: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    form: Form | None = None

    @property
    def status(self) -> int:
        return STATUS.get(self.state, 200)


def long_date(value: date, locale: str) -> str:
    return format_date(value, format="long", locale=locale)


def build_page(outcome: Outcome, locale: str, *, form: tuple[str, str, str] | None = None,
               note: str | None = None) -> Page:
    """`form` = (action, token, nonce) for states that ask to confirm; `note` is shown above the rest."""
    line = outcome.line
    values = {}
    if line is not None:
        values = {"quantity": line.quantity, "item": line.item, "order": line.order_name}
    state = outcome.state
    paragraphs = [text(locale, note)] if note else []

    if state in ("confirm", "changed"):
        if state == "changed":
            paragraphs.insert(0, text(locale, "changed"))
        keep = outcome.choice == "keep"
        paragraphs.append(text(locale, "item", **values))
        paragraphs.append(text(locale, "eta", date=long_date(line.eta, locale)) if line.eta else text(locale, "no_eta"))
        paragraphs.append(text(locale, "keep_explain" if keep else "refund_explain"))
        if not keep and outcome.approval:
            paragraphs.append(text(locale, "refund_approval"))
        page = Page(state, locale, text(locale, "confirm_keep_heading" if keep else "confirm_refund_heading"), paragraphs)
        if form is not None:
            action, token, nonce = form
            page.form = Form(action, token, nonce, text(locale, "keep_button" if keep else "refund_button"))
        return page
    if state == "kept":
        paragraphs.append(text(locale, "kept", **values))
        if line.eta:
            paragraphs.append(text(locale, "eta", date=long_date(line.eta, locale)))
        return Page(state, locale, text(locale, "kept_heading"), paragraphs)
    if state in ("refunded", "refunding", "awaiting_approval", "failed", "rejected"):
        paragraphs.append(text(locale, state, **values))
        return Page(state, locale, text(locale, f"{state}_heading"), paragraphs)
    if state == "used":
        paragraphs.append(text(locale, "used_keep" if outcome.previous == "keep" else "used_refund"))
        if outcome.previous == "refund" and outcome.previous_status in ("refunded", "refunding", "awaiting_approval",
                                                                         "failed", "rejected"):
            paragraphs.append(text(locale, outcome.previous_status, **values))
        paragraphs.append(text(locale, "nothing_changed"))
        return Page(state, locale, text(locale, "used_heading"), paragraphs)
    if state == "not_open":
        reason = line.status if line and line.status in ("shipped", "ready", "cancelled", "refunded") else "other"
        paragraphs += [text(locale, "item", **values), text(locale, f"not_open_{reason}"), text(locale, "nothing_changed")]
        return Page(state, locale, text(locale, "not_open_heading"), paragraphs)
    if state == "expired":
        return Page(state, locale, text(locale, "expired_heading"), paragraphs + [text(locale, "expired")])
    return Page("invalid", locale, text(locale, "invalid_heading"), paragraphs + [text(locale, "invalid")])


def render_body(page: Page) -> str:
    """The page's body: the fragment the app proxy answers (Liquid) and the HTML page wraps."""
    out = [f'<section class="backorder-desk-choice backorder-desk-choice--{escape(page.state)}" '
           f'lang="{escape(page.locale)}">',
           f"<h1>{escape(page.heading)}</h1>"]
    out += [f"<p>{escape(paragraph)}</p>" for paragraph in page.paragraphs]
    if page.form is not None:
        out += [f'<form method="post" action="{escape(page.form.action)}" class="backorder-desk-choice__form">',
                f'<input type="hidden" name="t" value="{escape(page.form.token)}">',
                f'<input type="hidden" name="n" value="{escape(page.form.nonce)}">',
                f'<button type="submit" class="button">{escape(page.form.button)}</button>',
                "</form>"]
    out.append("</section>")
    return "\n".join(out) + "\n"


STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;background:#f5f7f6;margin:0}
main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}
button{font:inherit;background:#2f5d50;color:#fff;border:0;border-radius:4px;padding:.7rem 1.2rem;cursor:pointer}
""".strip()


def render_document(page: Page, shop_name: str | None = None) -> str:
    title = f"{page.heading} · {shop_name}" if shop_name else page.heading
    return (f'<!doctype html>\n<html lang="{escape(page.locale)}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="robots" content="noindex, nofollow">\n<meta name="referrer" content="no-referrer">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            + (f'<p class="backorder-desk-choice__shop">{escape(shop_name)}</p>\n' if shop_name else "")
            + render_body(page) + "</main>\n</body>\n</html>\n")
