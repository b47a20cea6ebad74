"""English texts of the emails."""

MESSAGES: dict[str, str] = {
    # -- shared by every customer email -------------------------------------------------------------
    "common.greeting": "Hello {name},",
    "common.greeting_anonymous": "Hello,",
    "common.order": "Order {order_name}",
    "common.quantity": "Quantity: {quantity}",
    "common.sku": "SKU: {sku}",
    "common.ships_by": "Estimated ship date: {date}",
    "common.range": "Most likely between {earliest} and {latest}",
    "common.date_unknown": "We will tell you the ship date as soon as we know it.",
    "common.in_stock": "In stock now: ships soon",
    "common.view_order": "View your order",
    "common.questions": "Questions about your order? Just reply to this email.",
    "common.questions_shop": "Questions about your order? Contact us through our shop:",
    "common.signature": "Thank you,",
    "common.footer": "You are receiving this email because of your order {order_name} at {shop_name}.",
    # -- confirmation: an order with backordered lines was processed --------------------------------
    "confirmation.subject": "Order {order_name}: some items are on backorder",
    "confirmation.heading": "Some items in your order are on backorder",
    "confirmation.intro": "Thank you for your order. The items below were not in stock when you ordered, "
                          "so they will ship as soon as they arrive. This is when we expect to send them.",
    "confirmation.cancel": "Would you rather not wait? You can cancel these items before they ship: "
                           "open your order or contact us.",
    # -- delay: the promised date moved later --------------------------------------------------------
    "delay.subject": "Order {order_name}: new ship date",
    "delay.heading": "Your item will ship later than planned",
    "delay.intro": "We are sorry: an item in your order will ship later than we told you, because our "
                   "supplier's delivery has moved.",
    "delay.was": "Previous date: {date}",
    "delay.now": "New date: {date}",
    "delay.apology": "We apologise for the wait and thank you for your patience.",
    "delay.cancel": "If the new date does not work for you, you can cancel the item: open your order or "
                    "contact us.",
    # -- refund_offer: a delay past the refund threshold -----------------------------------------------
    "refund_offer.subject": "Order {order_name}: keep waiting or get a refund",
    "refund_offer.heading": "Your item is taking much longer than we promised",
    "refund_offer.intro": "We are sorry: an item in your order is now expected much later than we first "
                          "promised. You can keep waiting for it, or cancel it and get your money back.",
    "refund_offer.was": "First promised: {date}",
    "refund_offer.now": "Now expected: {date}",
    "refund_offer.choose": "Please choose:",
    "refund_offer.keep": "Keep waiting",
    "refund_offer.refund": "Cancel and refund",
    "refund_offer.expires": "These links work once, until {date}. If you do nothing, we keep your order "
                            "and ship the item as soon as it arrives.",
    "refund_offer.no_expiry": "These links work once. If you do nothing, we keep your order and ship the "
                              "item as soon as it arrives.",
    "refund_offer.approval": "Our team confirms each refund request before the money is returned.",
    # -- refund_confirmation: the line was refunded ------------------------------------------------------
    "refund_confirmation.subject": "Order {order_name}: your refund",
    "refund_confirmation.heading": "Your refund is on its way",
    "refund_confirmation.intro": "As you asked, we have cancelled the item below and refunded it.",
    "refund_confirmation.amount": "Amount refunded: {amount}",
    "refund_confirmation.timing": "Depending on your bank, it may take a few days to appear on your "
                                  "statement.",
    # -- ready: stock arrived ---------------------------------------------------------------------------
    "ready.subject": "Order {order_name}: your item is in stock",
    "ready.heading": "Good news: your item is in stock",
    "ready.intro": "The item below has arrived and will ship soon.",
    "ready.ships": "Ships by {date}",
    # -- shipped: the backordered line is on its way ---------------------------------------------------------
    "shipped.subject": "Order {order_name}: your item is on its way",
    "shipped.heading": "Your item is on its way",
    "shipped.intro": "The backordered item below has shipped. Thank you for waiting for it.",
    "shipped.tracking": "Tracking number: {tracking_number}",
    "shipped.carrier": "Carrier: {carrier}",
    "shipped.track": "Track your parcel",
    # -- digest: the merchant's daily summary ----------------------------------------------------------------
    "digest.subject": "Backorders at {shop_name}: summary for {date}",
    "digest.heading": "Daily backorder summary",
    "digest.intro": "This is what is waiting on stock at {shop_name} today, and what needs your attention.",
    "digest.open": "Open backorder lines: {count}",
    "digest.delayed": "Delayed lines: {count}",
    "digest.failed": "Refunds that failed and need you to refund by hand: {count}",
    "digest.awaiting": "Refund requests awaiting your approval: {count}",
    "digest.none": "None.",
    "digest.more": "… and {count} more",
    "digest.line": "{order_name}: {title} × {quantity}",
    "digest.promised": "promised {date}",
    "digest.delayed_from": "first promised {old}, now {new}",
    "digest.requested": "requested {date}",
    "digest.open_app": "Open Backorder Desk",
    "digest.footer": "Sent by Backorder Desk to the merchant email of {shop_name}. Switch the digest off in "
                     "the app's email settings.",
}
