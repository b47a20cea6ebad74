"""The words of the choice pages, in English and Polish. `{placeholders}` are filled by pages.py."""
from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "confirm_keep_heading": "Keep waiting for your item?",
        "confirm_refund_heading": "Cancel this item and get a refund?",
        "item": "{quantity} × {item}, order {order}",
        "eta": "Now expected to ship by {date}.",
        "no_eta": "We don't have a new ship date yet.",
        "keep_explain": "If you keep waiting, we'll ship it as soon as it arrives. Nothing else in your order changes.",
        "refund_explain": "We'll cancel the units still waiting for stock and refund them to the payment method you "
                          "used. The rest of your order is not affected.",
        "refund_approval": "The shop reviews refund requests; you'll get an email once yours is done.",
        "keep_button": "Yes, I'll keep waiting",
        "refund_button": "Cancel and refund",
        "changed": "The expected ship date changed while this page was open. Please check it and confirm again.",
        "confirm_again": "This page was open for a long time. Please confirm your choice again.",
        "kept_heading": "Thank you for waiting",
        "kept": "We'll ship {item} as soon as it arrives.",
        "refunded_heading": "Your refund is on its way",
        "refunded": "{quantity} × {item} was cancelled and refunded. A confirmation email is on its way to you.",
        "refunding_heading": "Your refund is being processed",
        "refunding": "We're refunding {quantity} × {item}. You'll get a confirmation email when it's done.",
        "awaiting_approval_heading": "Request received",
        "awaiting_approval": "We've passed your refund request to the shop. You'll get an email once it's approved.",
        "failed_heading": "We couldn't refund this automatically",
        "failed": "Don't worry: the shop has been told and will get in touch with you about your refund.",
        "rejected_heading": "The shop has reviewed your request",
        "rejected": "The shop could not cancel this item and will get in touch with you.",
        "used_heading": "This email has already been answered",
        "used_keep": "The choice made was to keep waiting.",
        "used_refund": "The choice made was to cancel and refund.",
        "nothing_changed": "Nothing was changed.",
        "not_open_heading": "This item can no longer be changed",
        "not_open_shipped": "It has already been sent.",
        "not_open_ready": "It is ready to ship and will be on its way to you soon.",
        "not_open_cancelled": "It was cancelled.",
        "not_open_refunded": "It has already been refunded.",
        "not_open_other": "It is no longer waiting for stock.",
        "invalid_heading": "This link doesn't work",
        "invalid": "Please open the link exactly as it came in your email. If it still doesn't work, contact the shop.",
        "expired_heading": "This link has expired",
        "expired": "Links in our emails work for a limited time. If you'd still like to change your order, please "
                   "contact the shop.",
        "page_title": "Your backordered item",
    },
    "pl": {
        "confirm_keep_heading": "Czy chcesz poczekać na produkt?",
        "confirm_refund_heading": "Anulować ten produkt i zwrócić pieniądze?",
        "item": "{quantity} × {item}, zamówienie {order}",
        "eta": "Przewidywana wysyłka: do {date}.",
        "no_eta": "Nie znamy jeszcze nowej daty wysyłki.",
        "keep_explain": "Jeśli poczekasz, wyślemy produkt, gdy tylko do nas dotrze. Reszta zamówienia pozostaje bez "
                        "zmian.",
        "refund_explain": "Anulujemy sztuki, które wciąż czekają na dostawę, i zwrócimy za nie pieniądze na metodę "
                          "płatności użytą przy zakupie. Pozostała część zamówienia nie ulegnie zmianie.",
        "refund_approval": "Sklep rozpatruje prośby o zwrot; gdy Twoja zostanie załatwiona, otrzymasz e-mail.",
        "keep_button": "Tak, poczekam",
        "refund_button": "Anuluj i zwróć pieniądze",
        "changed": "Przewidywana data wysyłki zmieniła się, gdy ta strona była otwarta. Sprawdź ją i potwierdź "
                   "ponownie.",
        "confirm_again": "Ta strona była długo otwarta. Potwierdź swój wybór jeszcze raz.",
        "kept_heading": "Dziękujemy za cierpliwość",
        "kept": "Wyślemy {item}, gdy tylko do nas dotrze.",
        "refunded_heading": "Zwrot pieniędzy jest w drodze",
        "refunded": "{quantity} × {item}: anulowano i zwrócono pieniądze. Wysłaliśmy Ci e-mail z potwierdzeniem.",
        "refunding_heading": "Zwrot jest w trakcie realizacji",
        "refunding": "Zwracamy pieniądze za {quantity} × {item}. Gdy skończymy, otrzymasz e-mail z potwierdzeniem.",
        "awaiting_approval_heading": "Otrzymaliśmy Twoją prośbę",
        "awaiting_approval": "Przekazaliśmy prośbę o zwrot do sklepu. Otrzymasz e-mail, gdy zostanie zatwierdzona.",
        "failed_heading": "Nie udało się automatycznie zwrócić pieniędzy",
        "failed": "Nie martw się: sklep został powiadomiony i skontaktuje się z Tobą w sprawie zwrotu.",
        "rejected_heading": "Sklep rozpatrzył Twoją prośbę",
        "rejected": "Sklep nie mógł anulować tego produktu i skontaktuje się z Tobą.",
        "used_heading": "Na tę wiadomość już odpowiedziano",
        "used_keep": "Wybrano dalsze oczekiwanie na produkt.",
        "used_refund": "Wybrano anulowanie i zwrot pieniędzy.",
        "nothing_changed": "Nic nie zostało zmienione.",
        "not_open_heading": "Tego produktu nie można już zmienić",
        "not_open_shipped": "Został już wysłany.",
        "not_open_ready": "Jest gotowy do wysyłki i wkrótce do Ciebie trafi.",
        "not_open_cancelled": "Został anulowany.",
        "not_open_refunded": "Pieniądze za niego zostały już zwrócone.",
        "not_open_other": "Nie czeka już na dostawę.",
        "invalid_heading": "Ten link nie działa",
        "invalid": "Otwórz link dokładnie w takiej postaci, w jakiej przyszedł w wiadomości e-mail. Jeśli nadal nie "
                   "działa, skontaktuj się ze sklepem.",
        "expired_heading": "Ten link wygasł",
        "expired": "Linki w naszych wiadomościach działają przez ograniczony czas. Jeśli nadal chcesz zmienić "
                   "zamówienie, skontaktuj się ze sklepem.",
        "page_title": "Twój produkt na zamówienie",
    },
}




def text(locale: str, key: str, **values: object) -> str:
    template = TEXTS.get(locale, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return template.format(**values) if values else template
