"""Polish texts of the emails (Polskie teksty wiadomości)."""

MESSAGES: dict[str, str] = {
    # -- wspólne dla wiadomości do klienta ----------------------------------------------------------
    "common.greeting": "Dzień dobry {name},",
    "common.greeting_anonymous": "Dzień dobry,",
    "common.order": "Zamówienie {order_name}",
    "common.quantity": "Ilość: {quantity}",
    "common.sku": "SKU: {sku}",
    "common.ships_by": "Przewidywana data wysyłki: {date}",
    "common.range": "Najprawdopodobniej między {earliest} a {latest}",
    "common.date_unknown": "Podamy datę wysyłki, gdy tylko ją poznamy.",
    "common.in_stock": "Już w magazynie: wkrótce wyślemy",
    "common.view_order": "Zobacz zamówienie",
    "common.questions": "Masz pytania dotyczące zamówienia? Po prostu odpowiedz na tę wiadomość.",
    "common.questions_shop": "Masz pytania dotyczące zamówienia? Skontaktuj się z nami przez nasz sklep:",
    "common.signature": "Dziękujemy,",
    "common.footer": "Otrzymujesz tę wiadomość w związku z zamówieniem {order_name} w sklepie {shop_name}.",
    # -- confirmation ----------------------------------------------------------------------------------
    "confirmation.subject": "Zamówienie {order_name}: część produktów jest na zamówienie",
    "confirmation.heading": "Część produktów z Twojego zamówienia jest na zamówienie",
    "confirmation.intro": "Dziękujemy za zamówienie. Poniższych produktów nie było w magazynie w chwili "
                          "zakupu, dlatego wyślemy je, gdy tylko do nas dotrą. Oto przewidywane terminy "
                          "wysyłki.",
    "confirmation.cancel": "Wolisz nie czekać? Możesz anulować te produkty, zanim zostaną wysłane: otwórz "
                           "zamówienie lub skontaktuj się z nami.",
    # -- delay -------------------------------------------------------------------------------------------
    "delay.subject": "Zamówienie {order_name}: nowy termin wysyłki",
    "delay.heading": "Twój produkt zostanie wysłany później, niż planowaliśmy",
    "delay.intro": "Przepraszamy: produkt z Twojego zamówienia zostanie wysłany później, niż podaliśmy, "
                   "ponieważ przesunęła się dostawa od naszego dostawcy.",
    "delay.was": "Poprzedni termin: {date}",
    "delay.now": "Nowy termin: {date}",
    "delay.apology": "Przepraszamy za oczekiwanie i dziękujemy za cierpliwość.",
    "delay.cancel": "Jeśli nowy termin Ci nie odpowiada, możesz anulować produkt: otwórz zamówienie lub "
                    "skontaktuj się z nami.",
    # -- refund_offer ------------------------------------------------------------------------------------
    "refund_offer.subject": "Zamówienie {order_name}: czekasz dalej czy zwrot pieniędzy?",
    "refund_offer.heading": "Twój produkt dotrze znacznie później, niż obiecaliśmy",
    "refund_offer.intro": "Przepraszamy: produkt z Twojego zamówienia dotrze znacznie później, niż "
                          "pierwotnie obiecaliśmy. Możesz na niego dalej czekać albo anulować go i "
                          "otrzymać zwrot pieniędzy.",
    "refund_offer.was": "Pierwotny termin: {date}",
    "refund_offer.now": "Obecny termin: {date}",
    "refund_offer.choose": "Wybierz, proszę:",
    "refund_offer.keep": "Czekam dalej",
    "refund_offer.refund": "Anuluj i zwróć pieniądze",
    "refund_offer.expires": "Te linki działają jednorazowo, do {date}. Jeśli nic nie wybierzesz, zachowamy "
                            "zamówienie i wyślemy produkt, gdy tylko dotrze.",
    "refund_offer.no_expiry": "Te linki działają jednorazowo. Jeśli nic nie wybierzesz, zachowamy "
                              "zamówienie i wyślemy produkt, gdy tylko dotrze.",
    "refund_offer.approval": "Każdą prośbę o zwrot pieniędzy nasz zespół potwierdza przed wykonaniem zwrotu.",
    # -- refund_confirmation -----------------------------------------------------------------------------
    "refund_confirmation.subject": "Zamówienie {order_name}: zwrot pieniędzy",
    "refund_confirmation.heading": "Zwrot pieniędzy jest w drodze",
    "refund_confirmation.intro": "Zgodnie z Twoją prośbą anulowaliśmy poniższy produkt i zwróciliśmy za "
                                 "niego pieniądze.",
    "refund_confirmation.amount": "Kwota zwrotu: {amount}",
    "refund_confirmation.timing": "W zależności od banku zwrot może pojawić się na koncie po kilku dniach.",
    # -- ready -------------------------------------------------------------------------------------------
    "ready.subject": "Zamówienie {order_name}: produkt jest już w magazynie",
    "ready.heading": "Dobra wiadomość: Twój produkt jest w magazynie",
    "ready.intro": "Poniższy produkt dotarł do nas i wkrótce zostanie wysłany.",
    "ready.ships": "Wysyłka do {date}",
    # -- shipped -----------------------------------------------------------------------------------------
    "shipped.subject": "Zamówienie {order_name}: produkt jest w drodze",
    "shipped.heading": "Twój produkt jest w drodze",
    "shipped.intro": "Poniższy produkt z zamówienia oczekującego właśnie wysłaliśmy. Dziękujemy za cierpliwość.",
    "shipped.tracking": "Numer przesyłki: {tracking_number}",
    "shipped.carrier": "Przewoźnik: {carrier}",
    "shipped.track": "Śledź przesyłkę",
    # -- digest (do sprzedawcy) ----------------------------------------------------------------------------
    "digest.subject": "Zamówienia oczekujące w sklepie {shop_name}: podsumowanie z {date}",
    "digest.heading": "Dzienne podsumowanie zamówień oczekujących",
    "digest.intro": "Oto, co w sklepie {shop_name} czeka dziś na dostawę i co wymaga Twojej uwagi.",
    "digest.open": "Otwarte pozycje na zamówienie: {count}",
    "digest.delayed": "Opóźnione pozycje: {count}",
    "digest.failed": "Zwroty, które się nie powiodły i wymagają ręcznego zwrotu: {count}",
    "digest.awaiting": "Prośby o zwrot czekające na Twoją akceptację: {count}",
    "digest.none": "Brak.",
    "digest.more": "… i {count} więcej",
    "digest.line": "{order_name}: {title} × {quantity}",
    "digest.promised": "obiecany termin: {date}",
    "digest.delayed_from": "pierwotnie {old}, teraz {new}",
    "digest.requested": "zgłoszono {date}",
    "digest.open_app": "Otwórz Backorder Desk",
    "digest.footer": "Wysłane przez Backorder Desk na adres sprzedawcy sklepu {shop_name}. Podsumowanie "
                     "można wyłączyć w ustawieniach e-maili aplikacji.",
}
