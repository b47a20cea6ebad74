"""The admin's words in English and Polish, and which of the two a request gets.

One flat catalogue per language, keyed by short dotted names (`nav.backorders`,
`backorders.action.ship`). Page authors add their keys to both dictionaries here (a test checks
that both languages have the same keys) and call `t("key", name=value)` in templates, or
`translate(locale, "key", ...)` in Python. Placeholders are `{name}`, filled by plain
substitution: a missing value leaves the placeholder as written instead of failing the page.

The locale: Shopify passes the merchant's admin language as `locale` on every app URL
(`pl-PL`, `en`); otherwise the browser's Accept-Language; otherwise English.
"""
from __future__ import annotations

import re

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

DEFAULT_LOCALE = "en"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "app.name": "Backorder Desk",
        "nav.label": "Backorder Desk",
        "nav.overview": "Overview",
        "nav.backorders": "Backorders",
        "nav.products": "Products",
        "nav.suppliers": "Suppliers",
        "nav.emails": "Emails",
        "nav.settings": "Settings",
        "nav.jobs": "Jobs",
        "common.none": "—",
        "common.apply": "Apply",
        "common.reset": "Reset",
        "common.confirm": "Yes, I am sure",
        "common.cancel": "Cancel",
        "common.previous": "Previous page",
        "common.next": "Next page",
        "common.page_of": "Page {page} of {pages}",
        "common.working": "Working…",
        "common.error": "Something went wrong: {message}",
        "common.saved": "Saved.",
        "common.shop": "Shop: {shop}",
        "common.skip": "Skip to the content",
        "common.table_alternative": "Data as a table",
        "status.open": "Waiting for stock",
        "status.ready": "Ready to ship",
        "status.shipped": "Shipped",
        "status.cancelled": "Cancelled",
        "status.refunded": "Refunded",
        "overview.title": "Overview",
        "overview.open_lines": "Open backorder lines",
        "overview.open_units": "Units waiting",
        "overview.value": "Value waiting to ship",
        "overview.value_missing": "{count} lines have no price yet",
        "overview.oldest": "Oldest line",
        "overview.oldest_days": "{days} days",
        "overview.kept": "Promises kept (last 30 days)",
        "overview.kept_detail": "{kept} of {total} shipped lines",
        "overview.delayed": "Lines delayed now",
        "overview.no_lines": "No backorders are waiting. When an order sells beyond stock, its lines appear here.",
        "overview.view_delayed": "See the delayed lines",
        "chart.by_week.title": "Backorders by promised week",
        "chart.by_week.desc": "Open backorder units by the week their ship date was promised for.",
        "chart.by_week.x": "Week of",
        "chart.by_week.none": "No date",
        "chart.by_week.overdue": "Overdue",
        "chart.by_week.later": "Later",
        "chart.ageing.title": "Age of open backorder lines",
        "chart.ageing.desc": "How long open lines have been waiting since the order, in days.",
        "chart.ageing.x": "Days waiting",
        "chart.kept.title": "Promises kept over time",
        "chart.kept.desc": "Share of lines shipped on or before the promised date, per week of shipping.",
        "chart.kept.x": "Week shipped",
        "chart.lines": "Lines",
        "chart.units": "Units",
        "chart.share": "Kept",
        "chart.shipped": "Shipped",
        "chart.empty": "Nothing to show yet.",
        "backorders.title": "Backorders",
        "backorders.filters": "Filter backorders",
        "backorders.filter.status": "Status",
        "backorders.filter.status_active": "Waiting or ready",
        "backorders.filter.status_all": "All statuses",
        "backorders.filter.product": "Product or SKU",
        "backorders.filter.supplier": "Supplier",
        "backorders.filter.supplier_any": "Any supplier",
        "backorders.filter.promised_from": "Promised from",
        "backorders.filter.promised_to": "Promised to",
        "backorders.filter.delayed": "Only delayed lines",
        "backorders.sort": "Sort by",
        "backorders.sort.promised": "Promised date, soonest first",
        "backorders.sort.-promised": "Promised date, latest first",
        "backorders.sort.ordered": "Order date, oldest first",
        "backorders.sort.-ordered": "Order date, newest first",
        "backorders.sort.eta": "Current ETA, soonest first",
        "backorders.sort.-eta": "Current ETA, latest first",
        "backorders.sort.-quantity": "Units, most first",
        "backorders.per_page": "Lines per page",
        "backorders.count": "{total} lines",
        "backorders.empty": "No backorder lines match these filters.",
        "backorders.caption": "Backorder lines, {from}–{to} of {total}",
        "backorders.col.order": "Order",
        "backorders.col.customer": "Customer",
        "backorders.col.item": "Item",
        "backorders.col.quantity": "Units",
        "backorders.col.status": "Status",
        "backorders.col.promised": "Promised",
        "backorders.col.eta": "Current ETA",
        "backorders.col.supplier": "Supplier",
        "backorders.col.ordered": "Ordered",
        "backorders.col.actions": "Actions",
        "backorders.delayed": "Delayed",
        "backorders.overridden": "Set by hand: {reason}",
        "backorders.range": "likely {likely}, at the latest {latest}",
        "backorders.actions_for": "Actions for {order}, {item}",
        "backorders.action.eta": "Override the ETA",
        "backorders.action.eta_date": "New ship date",
        "backorders.action.eta_reason": "Reason (kept with the date)",
        "backorders.action.eta_clear": "Remove the override (the engine decides again)",
        "backorders.action.eta_submit": "Save the ship date",
        "backorders.action.eta_confirm": "Change the ship date of this line?",
        "backorders.action.resend": "Resend the last customer email",
        "backorders.action.resend_confirm": "Send the customer's last email about this line again?",
        "backorders.action.refund": "Cancel and refund",
        "backorders.action.refund_confirm": "Cancel this line and refund the customer? This cannot be undone.",
        "backorders.action.ship": "Mark as shipped",
        "backorders.action.ship_confirm": "Mark this line as shipped? The customer gets the 'on its way' email.",
        "backorders.action.confirm_label": "I confirm",
        "result.eta_saved": "The ship date of {order} ({item}) is now {date}.",
        "result.eta_cleared": "The override of {order} ({item}) was removed; the ETA is {date}.",
        "result.resent": "The email '{kind}' to the customer of {order} was queued again.",
        "result.refunded": "{order} ({item}): {status}.",
        "result.refund.refunded": "cancelled and refunded",
        "result.refund.refunding": "the refund is being made",
        "result.refund.failed": "the refund failed: {error}",
        "result.shipped": "{order} ({item}) is marked as shipped.",
        "error.not_found": "That backorder line does not exist in this shop.",
        "error.not_open": "This line is {status}: it can no longer be changed.",
        "error.no_email": "No customer email about this line has been written yet.",
        "error.reason_required": "Give a reason for the new date.",
        "error.date_required": "Choose a date.",
        "error.confirm_required": "Tick the confirmation first.",
        "error.invalid_form": "This form has expired. Reload the page and try again.",
        "error.refund_busy": "A refund of this line is already {status}.",
        "launch.invalid": "This link to Backorder Desk is not valid. Open Backorder Desk again from your WordPress admin.",
        "launch.expired": "This link to Backorder Desk has expired or was already used. Open Backorder Desk again from your WordPress admin.",
        "session.expired": "Your session has ended. Open Backorder Desk again from your store's admin.",
    },
    "pl": {
        "app.name": "Backorder Desk",
        "nav.label": "Backorder Desk",
        "nav.overview": "Przegląd",
        "nav.backorders": "Zamówienia oczekujące",
        "nav.products": "Produkty",
        "nav.suppliers": "Dostawcy",
        "nav.emails": "E-maile",
        "nav.settings": "Ustawienia",
        "nav.jobs": "Zadania",
        "common.none": "—",
        "common.apply": "Zastosuj",
        "common.reset": "Wyczyść",
        "common.confirm": "Tak, na pewno",
        "common.cancel": "Anuluj",
        "common.previous": "Poprzednia strona",
        "common.next": "Następna strona",
        "common.page_of": "Strona {page} z {pages}",
        "common.working": "Przetwarzanie…",
        "common.error": "Coś poszło nie tak: {message}",
        "common.saved": "Zapisano.",
        "common.shop": "Sklep: {shop}",
        "common.skip": "Przejdź do treści",
        "common.table_alternative": "Dane w tabeli",
        "status.open": "Czeka na towar",
        "status.ready": "Gotowe do wysyłki",
        "status.shipped": "Wysłane",
        "status.cancelled": "Anulowane",
        "status.refunded": "Zwrócone",
        "overview.title": "Przegląd",
        "overview.open_lines": "Otwarte pozycje oczekujące",
        "overview.open_units": "Sztuki w oczekiwaniu",
        "overview.value": "Wartość do wysłania",
        "overview.value_missing": "{count} pozycji nie ma jeszcze ceny",
        "overview.oldest": "Najstarsza pozycja",
        "overview.oldest_days": "{days} dni",
        "overview.kept": "Dotrzymane terminy (ostatnie 30 dni)",
        "overview.kept_detail": "{kept} z {total} wysłanych pozycji",
        "overview.delayed": "Pozycje opóźnione teraz",
        "overview.no_lines": "Nic nie czeka. Gdy zamówienie przekroczy stan magazynu, jego pozycje pojawią się tutaj.",
        "overview.view_delayed": "Zobacz opóźnione pozycje",
        "chart.by_week.title": "Oczekujące według obiecanego tygodnia",
        "chart.by_week.desc": "Sztuki w oczekiwaniu według tygodnia obiecanej daty wysyłki.",
        "chart.by_week.x": "Tydzień od",
        "chart.by_week.none": "Bez daty",
        "chart.by_week.overdue": "Po terminie",
        "chart.by_week.later": "Później",
        "chart.ageing.title": "Wiek otwartych pozycji",
        "chart.ageing.desc": "Jak długo otwarte pozycje czekają od złożenia zamówienia, w dniach.",
        "chart.ageing.x": "Dni oczekiwania",
        "chart.kept.title": "Dotrzymane terminy w czasie",
        "chart.kept.desc": "Odsetek pozycji wysłanych w obiecanym terminie lub wcześniej, według tygodnia wysyłki.",
        "chart.kept.x": "Tydzień wysyłki",
        "chart.lines": "Pozycje",
        "chart.units": "Sztuki",
        "chart.share": "Dotrzymane",
        "chart.shipped": "Wysłane",
        "chart.empty": "Na razie nie ma czego pokazać.",
        "backorders.title": "Zamówienia oczekujące",
        "backorders.filters": "Filtruj pozycje",
        "backorders.filter.status": "Status",
        "backorders.filter.status_active": "Czekające lub gotowe",
        "backorders.filter.status_all": "Wszystkie statusy",
        "backorders.filter.product": "Produkt lub SKU",
        "backorders.filter.supplier": "Dostawca",
        "backorders.filter.supplier_any": "Dowolny dostawca",
        "backorders.filter.promised_from": "Obiecane od",
        "backorders.filter.promised_to": "Obiecane do",
        "backorders.filter.delayed": "Tylko opóźnione",
        "backorders.sort": "Sortuj według",
        "backorders.sort.promised": "Obiecana data, najbliższe najpierw",
        "backorders.sort.-promised": "Obiecana data, najdalsze najpierw",
        "backorders.sort.ordered": "Data zamówienia, najstarsze najpierw",
        "backorders.sort.-ordered": "Data zamówienia, najnowsze najpierw",
        "backorders.sort.eta": "Aktualna data, najbliższe najpierw",
        "backorders.sort.-eta": "Aktualna data, najdalsze najpierw",
        "backorders.sort.-quantity": "Sztuki, najwięcej najpierw",
        "backorders.per_page": "Pozycji na stronie",
        "backorders.count": "Pozycji: {total}",
        "backorders.empty": "Żadna pozycja nie pasuje do tych filtrów.",
        "backorders.caption": "Pozycje oczekujące, {from}–{to} z {total}",
        "backorders.col.order": "Zamówienie",
        "backorders.col.customer": "Klient",
        "backorders.col.item": "Produkt",
        "backorders.col.quantity": "Sztuki",
        "backorders.col.status": "Status",
        "backorders.col.promised": "Obiecane",
        "backorders.col.eta": "Aktualna data",
        "backorders.col.supplier": "Dostawca",
        "backorders.col.ordered": "Zamówione",
        "backorders.col.actions": "Działania",
        "backorders.delayed": "Opóźnione",
        "backorders.overridden": "Ustawione ręcznie: {reason}",
        "backorders.range": "najpewniej {likely}, najpóźniej {latest}",
        "backorders.actions_for": "Działania dla {order}, {item}",
        "backorders.action.eta": "Zmień datę wysyłki",
        "backorders.action.eta_date": "Nowa data wysyłki",
        "backorders.action.eta_reason": "Powód (zapisany z datą)",
        "backorders.action.eta_clear": "Usuń ręczną datę (znów decyduje silnik)",
        "backorders.action.eta_submit": "Zapisz datę wysyłki",
        "backorders.action.eta_confirm": "Zmienić datę wysyłki tej pozycji?",
        "backorders.action.resend": "Wyślij ponownie ostatni e-mail do klienta",
        "backorders.action.resend_confirm": "Wysłać ponownie ostatni e-mail do klienta o tej pozycji?",
        "backorders.action.refund": "Anuluj i zwróć pieniądze",
        "backorders.action.refund_confirm": "Anulować tę pozycję i zwrócić klientowi pieniądze? Tego nie da się cofnąć.",
        "backorders.action.ship": "Oznacz jako wysłane",
        "backorders.action.ship_confirm": "Oznaczyć tę pozycję jako wysłaną? Klient dostanie e-mail o wysyłce.",
        "backorders.action.confirm_label": "Potwierdzam",
        "result.eta_saved": "Data wysyłki {order} ({item}) to teraz {date}.",
        "result.eta_cleared": "Usunięto ręczną datę {order} ({item}); data to {date}.",
        "result.resent": "E-mail „{kind}” do klienta {order} ponownie czeka na wysłanie.",
        "result.refunded": "{order} ({item}): {status}.",
        "result.refund.refunded": "anulowano i zwrócono pieniądze",
        "result.refund.refunding": "zwrot jest w toku",
        "result.refund.failed": "zwrot się nie udał: {error}",
        "result.shipped": "{order} ({item}) oznaczono jako wysłane.",
        "error.not_found": "Takiej pozycji nie ma w tym sklepie.",
        "error.not_open": "Ta pozycja ma status „{status}”: nie można jej już zmienić.",
        "error.no_email": "Do klienta nie napisano jeszcze żadnego e-maila o tej pozycji.",
        "error.reason_required": "Podaj powód nowej daty.",
        "error.date_required": "Wybierz datę.",
        "error.confirm_required": "Najpierw zaznacz potwierdzenie.",
        "error.invalid_form": "Ten formularz wygasł. Odśwież stronę i spróbuj ponownie.",
        "error.refund_busy": "Zwrot tej pozycji ma już status „{status}”.",
        "launch.invalid": "Ten link do Backorder Desk jest nieprawidłowy. Otwórz Backorder Desk ponownie z panelu WordPress.",
        "launch.expired": "Ten link do Backorder Desk wygasł lub został już użyty. Otwórz Backorder Desk ponownie z panelu WordPress.",
        "session.expired": "Sesja wygasła. Otwórz Backorder Desk ponownie z panelu sklepu.",
    },
}
LOCALES = tuple(MESSAGES)


def choose_locale(*candidates: str | None) -> str:
    """The first supported language among the candidates (`pl`, `pl-PL`, `pl_PL`), else English."""
    for candidate in candidates:
        if not candidate:
            continue
        language = str(candidate).strip().replace("_", "-").split("-", 1)[0].lower()
        if language in MESSAGES:
            return language
    return DEFAULT_LOCALE


def request_locale(request) -> str:
    """Shopify's `locale` on the URL, else the browser's Accept-Language, else English."""
    return choose_locale(request.args.get("locale"), request.accept_languages.best_match(LOCALES))


def translate(locale: str, key: str, **values: object) -> str:
    catalogue = MESSAGES.get(locale) or MESSAGES[DEFAULT_LOCALE]
    text = catalogue.get(key) or MESSAGES[DEFAULT_LOCALE].get(key) or key
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def format_day(value, locale: str, style: str = "medium") -> str:
    return format_date(value, format=style, locale=locale) if value else ""


def format_money(amount, currency: str | None, locale: str) -> str:
    if amount is None:
        return ""
    if currency:
        return format_currency(amount, currency, locale=locale)
    return format_decimal(amount, format="#,##0.00", locale=locale)


def format_number(value, locale: str) -> str:
    return format_decimal(value, locale=locale)
