"""What the admin pages read: the backorder list and the overview's figures. Read-only, one shop each.

Every query runs in `db.shop_session(shop_id)`, which adds `shop_id = :id` to each shop-owned
table it names; the statements are written for a shop with a million lines on PostgreSQL:

* the list filters `backorders` alone (status, promised date, supplier, a variant subquery for
  product words) and joins the order, line and supplier only for the page's rows (indexes of
  migration 0007); its total is summed from the tallies by supplier (plugin/admin/tallies.py,
  migration 0009) unless product words are given, then counted on `backorders`;
* the overview never reads the lines: the tallies by day hold waiting lines per (status, promised
  day, slipped, day ordered) and shipped lines per (promised day, day shipped), from which every
  figure and chart is summed; only the oldest waiting line's time is read, off the index.
  Ages are whole days (UTC), like the oldest line's age: "0-7" holds lines ordered 0 to 7 days ago.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from plugin.admin.schemas import BackorderPage, BackorderQuery, BackorderRow, ChartPoint, EtaOverrideInfo, \
    OverviewFigures, OverviewOut
from plugin.admin.tallies import TALLY_BY_DAY, TALLY_BY_SUPPLIER, fold_if_due, tally_rows
from plugin.db.models import Backorder, Order, OrderLine, Supplier, Variant

WAITING = ("open", "ready")
AGE_BUCKETS = (7, 14, 30, 60, 90)  # upper bounds in days; the last bucket is "over 90"
WEEKS_AHEAD = 12
KEPT_WEEKS = 12


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def delayed_condition(today: date):
    """Waiting, and either the ETA moved past the promise or the promised day has gone by."""
    b = Backorder
    return and_(b.status.in_(WAITING), b.promised_eta.is_not(None),
                or_(and_(b.current_eta.is_not(None), b.current_eta > b.promised_eta), b.promised_eta < today))


# -- the list ----------------------------------------------------------------------------------
def _filters(query: BackorderQuery, today: date) -> list:
    b = Backorder
    conditions = [b.status.in_(query.status or WAITING)]
    if query.supplier_id is not None:
        conditions.append(b.supplier_id == query.supplier_id)
    if query.promised_from is not None:
        conditions.append(b.promised_eta >= query.promised_from)
    if query.promised_to is not None:
        conditions.append(b.promised_eta <= query.promised_to)
    if query.delayed:
        conditions.append(delayed_condition(today))
    elif query.delayed is False:
        conditions.append(~delayed_condition(today))
    if query.product:
        conditions.append(b.variant_id.in_(_matching_variants(query.product)))
    return conditions


def _matching_variants(words: str):
    """Variants whose SKU starts with the text (any case) or whose titles contain it."""
    text = words.lower()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    v = Variant
    return select(v.id).where(or_(
        func.lower(v.sku).like(f"{escaped}%", escape="\\"),
        func.lower(v.title).like(f"%{escaped}%", escape="\\"),
        func.lower(v.product_title).like(f"%{escaped}%", escape="\\"),
    ))


# Nulls last ascending and first descending (a line without a date is "latest"): the order of a
# b-tree index read forwards or backwards, so PostgreSQL can read a page off an index; spelled
# out so SQLite (nulls first ascending by default) sorts the same.
_SORTS = {
    "promised": (Backorder.promised_eta.asc().nulls_last(), Backorder.id.asc()),
    "-promised": (Backorder.promised_eta.desc().nulls_first(), Backorder.id.desc()),
    "ordered": (Backorder.ordered_at.asc(), Backorder.id.asc()),
    "-ordered": (Backorder.ordered_at.desc(), Backorder.id.desc()),
    "eta": (Backorder.current_eta.asc().nulls_last(), Backorder.id.asc()),
    "-eta": (Backorder.current_eta.desc().nulls_first(), Backorder.id.desc()),
    "-quantity": (Backorder.quantity.desc(), Backorder.id.asc()),
}

_ROW_COLUMNS = (
    Backorder.id, Order.id, Order.name, Order.platform_order_id, Order.customer_name, OrderLine.title,
    OrderLine.sku, Backorder.quantity, Backorder.status, Backorder.promised_eta, Backorder.current_eta,
    Backorder.eta_earliest, Backorder.eta_likely, Backorder.eta_latest, Backorder.covered_by,
    Backorder.supplier_id, Supplier.name, Backorder.ordered_at, Backorder.shipped_at, Backorder.eta_override,
    Backorder.eta_override_reason, Backorder.eta_override_at, OrderLine.unit_price, Order.currency,
)


def _row_select():
    return (select(*_ROW_COLUMNS)
            .join(OrderLine, OrderLine.id == Backorder.order_line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(Supplier, Supplier.id == Backorder.supplier_id))


def _to_row(values, today: date) -> BackorderRow:
    (bid, order_id, order_name, platform_order_id, customer, title, sku, quantity, status, promised, current,
     earliest, likely, latest, covered, supplier_id, supplier_name, ordered_at, shipped_at, override,
     override_reason, override_at, unit_price, currency) = values
    delayed = (status in WAITING and promised is not None
               and ((current is not None and current > promised) or promised < today))
    return BackorderRow(
        id=bid, order_id=order_id, order_name=order_name or f"#{platform_order_id}", customer_name=customer,
        item=title or sku or "", sku=sku, quantity=quantity, status=status, promised_eta=promised,
        current_eta=current, eta_earliest=earliest, eta_likely=likely, eta_latest=latest, covered_by=covered,
        supplier_id=supplier_id, supplier_name=supplier_name, ordered_at=ordered_at, shipped_at=shipped_at,
        delayed=delayed,
        override=EtaOverrideInfo(eta=override, reason=override_reason, at=override_at) if override else None,
        unit_price=unit_price, currency=currency)


def list_backorders(runtime, shop_id: int, query: BackorderQuery, *, today: date | None = None) -> BackorderPage:
    today = today or utcnow().date()
    conditions = _filters(query, today)
    if not query.product:
        fold_if_due(runtime, shop_id)
    with runtime.db.shop_session(shop_id) as session:
        if query.product:
            total = session.scalar(select(func.count()).select_from(Backorder).where(*conditions)) or 0
        else:
            total = _tallied_count(session, shop_id, query, today)
        # The page's ids first, from backorders alone (index order), then their details.
        ids = list(session.scalars(select(Backorder.id).where(*conditions).order_by(*_SORTS[query.sort])
                                   .limit(query.per_page).offset((query.page - 1) * query.per_page)))
        rows = _rows_by_id(session, ids, today)
    pages = max(1, -(-total // query.per_page))
    return BackorderPage(rows=[rows[i] for i in ids if i in rows], total=total, page=query.page,
                         per_page=query.per_page, pages=pages)


def _tallied_count(session: Session, shop_id: int, query: BackorderQuery, today: date) -> int:
    """The lines `_filters` would count (without product words), from the tallies by supplier."""
    t = tally_rows(shop_id, TALLY_BY_SUPPLIER)
    conditions = [t.c.status.in_(query.status or WAITING)]
    if query.supplier_id is not None:
        conditions.append(t.c.supplier_id == query.supplier_id)
    if query.promised_from is not None:
        conditions.append(t.c.promised_eta >= query.promised_from)
    if query.promised_to is not None:
        conditions.append(t.c.promised_eta <= query.promised_to)
    delayed = _tallied_delayed(t, today)
    if query.delayed:
        conditions.append(delayed)
    elif query.delayed is False:
        conditions.append(~delayed)
    return int(session.scalar(select(func.coalesce(func.sum(t.c.lines), 0)).where(*conditions)) or 0)


def _tallied_delayed(t, today: date):
    """delayed_condition on tally rows: `slipped` is "current ETA later than promised"."""
    return and_(t.c.status.in_(WAITING), t.c.promised_eta.is_not(None), or_(t.c.slipped, t.c.promised_eta < today))


def _rows_by_id(session: Session, ids: list[int], today: date) -> dict[int, BackorderRow]:
    if not ids:
        return {}
    return {values[0]: _to_row(values, today)
            for values in session.execute(_row_select().where(Backorder.id.in_(ids)))}


def backorder_row(runtime, shop_id: int, backorder_id: int, *, session: Session | None = None) -> BackorderRow | None:
    if session is None:
        with runtime.db.shop_session(shop_id) as own:
            return backorder_row(runtime, shop_id, backorder_id, session=own)
    return _rows_by_id(session, [backorder_id], utcnow().date()).get(backorder_id)


def supplier_choices(runtime, shop_id: int) -> list[tuple[int, str]]:
    with runtime.db.shop_session(shop_id) as session:
        return [(sid, name) for sid, name in session.execute(select(Supplier.id, Supplier.name).order_by(Supplier.name))]


# -- the overview ------------------------------------------------------------------------------
@dataclass
class _Group:
    promised: date | None
    age_bucket: int
    delayed: bool
    lines: int
    units: int
    value: Decimal
    priced_lines: int


def overview(runtime, shop_id: int, *, now: datetime | None = None) -> OverviewOut:
    now = now or utcnow()
    today = now.date()
    fold_if_due(runtime, shop_id)
    with runtime.db.shop_session(shop_id) as session:
        groups = _waiting_groups(session, shop_id, today)
        oldest = _oldest_waiting(session)
        kept_days = _shipped_days(session, shop_id, today - timedelta(days=7 * KEPT_WEEKS - 1))
        currency = session.scalar(select(Order.currency).where(Order.currency.is_not(None))
                                  .order_by(Order.id.desc()).limit(1))
    lines = sum(g.lines for g in groups)
    units = sum(g.units for g in groups)
    priced = sum(g.priced_lines for g in groups)
    value = sum((g.value for g in groups), Decimal(0)) if priced else None
    window_start = today - timedelta(days=29)
    kept_30 = sum(k for day, k, _n in kept_days if day >= window_start)
    shipped_30 = sum(n for day, _k, n in kept_days if day >= window_start)
    figures = OverviewFigures(
        open_lines=lines, open_units=units,
        value_waiting=value.quantize(Decimal("0.01")) if value is not None else None,
        currency=currency, lines_without_price=lines - priced,
        oldest_ordered_at=oldest, oldest_age_days=(today - oldest.date()).days if oldest else None,
        promises_kept_share=(kept_30 / shipped_30) if shipped_30 else None,
        promises_kept=kept_30, promises_shipped=shipped_30,
        delayed_lines=sum(g.lines for g in groups if g.delayed),
    )
    return OverviewOut(figures=figures, by_promised_week=_by_week(groups, today), ageing=_ageing(groups),
                       kept_over_time=_kept_weeks(kept_days, today), computed_at=now)


def _waiting_groups(session: Session, shop_id: int, today: date) -> list[_Group]:
    """Waiting lines by (promised day, age bucket, delayed), summed from the tallies by day."""
    t = tally_rows(shop_id, TALLY_BY_DAY)
    whens = [(t.c.day >= today - timedelta(days=days), index) for index, days in enumerate(AGE_BUCKETS)]
    age = case(*whens, else_=len(AGE_BUCKETS)).label("age")
    delayed = case((_tallied_delayed(t, today), true()), else_=false()).label("delayed")
    stmt = (select(t.c.promised_eta, age, delayed, func.sum(t.c.lines), func.sum(t.c.units), func.sum(t.c.value),
                   func.sum(t.c.priced_lines))
            .where(t.c.status.in_(WAITING))
            .group_by(t.c.promised_eta, age, delayed)
            .having(func.sum(t.c.lines) != 0))
    groups = []
    for promised, bucket, is_delayed, count, units, total, priced in session.execute(stmt):
        if isinstance(promised, str):
            promised = date.fromisoformat(promised)
        groups.append(_Group(promised, int(bucket), bool(is_delayed), int(count), int(units or 0),
                             Decimal(str(total)) if total is not None else Decimal(0), int(priced or 0)))
    return groups


def _oldest_waiting(session: Session) -> datetime | None:
    """When the longest-waiting line was ordered: the first entry of each status in the
    (shop_id, status, ordered_at) index."""
    found = []
    for status in WAITING:
        oldest = session.scalar(select(func.min(Backorder.ordered_at)).where(Backorder.status == status))
        if isinstance(oldest, str):  # SQLite's min() of a timestamp column comes back as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None:
            found.append(oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc))
    return min(found, default=None)


def _shipped_days(session: Session, shop_id: int, since: date) -> list[tuple[date, int, int]]:
    """(ship day, kept, shipped) of lines shipped since `since` that had a promised date; the
    ship day is the UTC day, kept: shipped on or before the promised day."""
    t = tally_rows(shop_id, TALLY_BY_DAY)
    kept = func.sum(case((t.c.day <= t.c.promised_eta, t.c.lines), else_=0))
    stmt = (select(t.c.day, kept, func.sum(t.c.lines))
            .where(t.c.status == "shipped", t.c.day >= since, t.c.promised_eta.is_not(None))
            .group_by(t.c.day)
            .having(func.sum(t.c.lines) != 0))
    out = []
    for shipped_day, kept_count, count in session.execute(stmt):
        if isinstance(shipped_day, str):
            shipped_day = date.fromisoformat(shipped_day)
        out.append((shipped_day, int(kept_count or 0), int(count)))
    return out


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _by_week(groups: list[_Group], today: date) -> list[ChartPoint]:
    """Overdue (promised before this week), the next WEEKS_AHEAD weeks, later, and no date."""
    this_week = _monday(today)
    weeks = [this_week + timedelta(weeks=i) for i in range(WEEKS_AHEAD)]
    buckets: dict[str, list[int]] = {"overdue": [0, 0], **{w.isoformat(): [0, 0] for w in weeks},
                                     "later": [0, 0], "none": [0, 0]}
    for g in groups:
        if g.promised is None:
            key = "none"
        elif g.promised < this_week:
            key = "overdue"
        elif g.promised >= this_week + timedelta(weeks=WEEKS_AHEAD):
            key = "later"
        else:
            key = _monday(g.promised).isoformat()
        buckets[key][0] += g.lines
        buckets[key][1] += g.units
    points = []
    for key, (count, units) in buckets.items():
        if key in ("overdue", "later", "none") and not count:
            continue
        start = date.fromisoformat(key) if key[0].isdigit() else None
        points.append(ChartPoint(label=key, start=start, value=units, lines=count, units=units))
    return points


def _ageing(groups: list[_Group]) -> list[ChartPoint]:
    counts = [0] * (len(AGE_BUCKETS) + 1)
    units = [0] * (len(AGE_BUCKETS) + 1)
    for g in groups:
        counts[g.age_bucket] += g.lines
        units[g.age_bucket] += g.units
    labels, low = [], 0
    for high in AGE_BUCKETS:
        labels.append(f"{low}-{high}")
        low = high + 1
    labels.append(f">{AGE_BUCKETS[-1]}")
    return [ChartPoint(label=label, value=counts[i], lines=counts[i], units=units[i]) for i, label in enumerate(labels)]


def _kept_weeks(days: list[tuple[date, int, int]], today: date) -> list[ChartPoint]:
    first = _monday(today) - timedelta(weeks=KEPT_WEEKS - 1)
    weeks = {first + timedelta(weeks=i): [0, 0] for i in range(KEPT_WEEKS)}
    for day, kept, shipped in days:
        week = _monday(day)
        if week in weeks:
            weeks[week][0] += kept
            weeks[week][1] += shipped
    return [ChartPoint(label=week.isoformat(), start=week, value=(kept / shipped) if shipped else 0.0,
                       lines=shipped, kept=kept) for week, (kept, shipped) in weeks.items()]
