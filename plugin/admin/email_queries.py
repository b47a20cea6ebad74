"""What the Emails pages read and write: the outbox log, the kinds (on/off, the merchant's texts).

The log reads `notifications` of the shop newest first (filtered by kind and status), with the
order's name; addresses are masked before they leave this module. The kinds' switches and
texts are the shop settings `email_kinds` and `email_texts` (plugin/shop_settings.py), written
through settings_store.update_settings; the outbox and the renderer read them from there.
"""
from __future__ import annotations

from sqlalchemy import func, select

from plugin.admin.email_schemas import EmailKindOut, EmailKindsOut, EmailLogPage, EmailLogQuery, EmailLogRow, \
    EmailText, EmailTextIn, PLACEHOLDERS
from plugin.admin.forms import mask_email
from plugin.admin.settings_store import read_settings, update_settings
from plugin.db.models import Notification, Order
from plugin.notifications import catalog, kinds
from plugin.notifications.render import subject_of

LOCALES = catalog.LOCALES


def list_emails(runtime, shop_id: int, query: EmailLogQuery) -> EmailLogPage:
    n = Notification
    conditions = []
    if query.kind:
        conditions.append(n.kind == query.kind)
    if query.status:
        conditions.append(n.status == query.status)
    with runtime.db.shop_session(shop_id) as session:
        total = session.scalar(select(func.count()).select_from(n).where(*conditions)) or 0
        rows = session.execute(
            select(n.id, n.kind, n.recipient, n.locale, n.subject, n.status, n.reason, n.last_error, n.attempts,
                   n.created_at, n.sent_at, Order.name, Order.platform_order_id, n.context)
            .outerjoin(Order, Order.id == n.order_id).where(*conditions)
            .order_by(n.id.desc()).limit(query.per_page).offset((query.page - 1) * query.per_page)).all()
    out = [EmailLogRow(id=r[0], kind=r[1], recipient=mask_email(r[2]), locale=r[3], subject=_subject(r), status=r[5],
                       reason=r[6] or (r[7][:300] if r[7] else None), attempts=r[8] or 0,
                       order_name=r[11] or (f"#{r[12]}" if r[12] else None), created_at=r[9], sent_at=r[10])
           for r in rows]
    return EmailLogPage(rows=out, total=total, page=query.page, per_page=query.per_page,
                        pages=max(1, -(-total // query.per_page)))


def _subject(row) -> str | None:
    """The stored subject; for a row not rendered (yet, or ever: skipped event messages), the one
    its context gives. A redacted row (no locale any more) shows none."""
    subject, locale, context = row[4], row[3], row[13]
    if subject is not None or locale is None or not context or "kind" not in context:
        return subject
    try:
        return subject_of(context)
    except (KeyError, ValueError, TypeError):
        return None


def default_text(kind: str, locale: str) -> EmailText:
    messages = catalog.CATALOGUES[locale]
    return EmailText(subject=messages.get(f"{kind}.subject"), intro=messages.get(f"{kind}.intro"))


def _kind_out(kind: str, settings: dict) -> EmailKindOut:
    stored = settings["email_texts"].get(kind) if isinstance(settings["email_texts"].get(kind), dict) else {}
    texts = {}
    for locale in LOCALES:
        own = stored.get(locale) if isinstance(stored.get(locale), dict) else {}
        if own.get("subject") or own.get("intro"):
            texts[locale] = EmailText(subject=own.get("subject") or None, intro=own.get("intro") or None)
    return EmailKindOut(kind=kind, audience="merchant" if kind in kinds.MERCHANT_KINDS else "customer",
                        enabled=bool(settings["email_kinds"].get(kind)), texts=texts,
                        defaults={locale: default_text(kind, locale) for locale in LOCALES})


def email_kinds(runtime, shop_id: int) -> EmailKindsOut:
    settings = read_settings(runtime, shop_id)
    return EmailKindsOut(kinds=[_kind_out(kind, settings) for kind in kinds.ALL_KINDS], placeholders=list(PLACEHOLDERS))


def email_kind(runtime, shop_id: int, kind: str) -> EmailKindOut:
    return _kind_out(kind, read_settings(runtime, shop_id))


def switch_kinds(runtime, shop_id: int, switches: dict[str, bool]) -> list[str]:
    """Turn kinds on or off; returns the names of settings changed."""
    return update_settings(runtime, shop_id,
                           lambda current: {"email_kinds": {**current["email_kinds"], **switches}}).changed


def save_texts(runtime, shop_id: int, kind: str, locale: str, text: EmailTextIn) -> bool:
    """Store (or, empty, remove) the merchant's subject and intro of one kind in one language."""
    own = {part: value for part, value in (("subject", text.subject), ("intro", text.intro)) if value}

    def change(current: dict) -> dict:
        texts = {k: dict(v) for k, v in current["email_texts"].items() if isinstance(v, dict)}
        per_kind = {loc: dict(v) for loc, v in texts.get(kind, {}).items() if isinstance(v, dict)}
        if own:
            per_kind[locale] = own
        else:
            per_kind.pop(locale, None)
        if per_kind:
            texts[kind] = per_kind
        else:
            texts.pop(kind, None)
        return {"email_texts": texts}

    return bool(update_settings(runtime, shop_id, change).changed)
