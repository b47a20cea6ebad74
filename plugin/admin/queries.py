"""What the admin pages read: the backorder list and the overview's figures. Read-only, one shop each.

Every query runs in `db.shop_session(shop_id)`, which adds `shop_id = :id` to each shop-owned
table it names; the statements are written to use the indexes of migration 0007 on PostgreSQL
with a million lines:

* the list filters `backorders` alone (status, promised date, supplier, a variant subquery for
  product words) and joins the order, line and supplier only for the page's rows; the count
  runs on `backorders` alone;
* the overview reads waiting lines in one grouped pass (promised day x age bucket x delayed),
  from which every figure and two charts are summed in Python, and shipped lines of the last
  weeks through the ship-date index.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from plugin.admin.schemas import BackorderPage, BackorderQuery, BackorderRow, ChartPoint, EtaOverrideInfo, \
    OverviewFigures, OverviewOut
from plugin.db.models import Backorder, Order, OrderLine, Shop, Supplier, Variant

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
    with runtime.db.shop_session(shop_id) as session:
        total = session.scalar(select(func.count()).select_from(Backorder).where(*conditions)) or 0
        # The page's ids first, from backorders alone (index order), then their details.
        ids = list(session.scalars(select(Backorder.id).where(*conditions).order_by(*_SORTS[query.sort])
                                   .limit(query.per_page).offset((query.page - 1) * query.per_page)))
        rows = _rows_by_id(session, ids, today)
    pages = max(1, -(-total // query.per_page))
    return BackorderPage(rows=[rows[i] for i in ids if i in rows], total=total, page=query.page,
                         per_page=query.per_page, pages=pages)


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
    oldest: datetime | None


def overview(runtime, shop_id: int, *, now: datetime | None = None) -> OverviewOut:
    now = now or utcnow()
    today = now.date()
    with runtime.db.shop_session(shop_id) as session:
        shop = session.get(Shop, shop_id)
        groups = _waiting_groups(session, now, today)
        kept_days = _shipped_days(session, today - timedelta(days=7 * KEPT_WEEKS - 1))
        currency = session.scalar(select(Order.currency).where(Order.currency.is_not(None))
                                  .order_by(Order.id.desc()).limit(1))
    _ = shop
    lines = sum(g.lines for g in groups)
    units = sum(g.units for g in groups)
    priced = sum(g.priced_lines for g in groups)
    value = sum((g.value for g in groups), Decimal(0)) if priced else None
    oldest = min((g.oldest for g in groups if g.oldest is not None), default=None)
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


def _age_case(now: datetime):
    whens = [(Backorder.ordered_at >= now - timedelta(days=days), index) for index, days in enumerate(AGE_BUCKETS)]
    return case(*whens, else_=len(AGE_BUCKETS))


def _waiting_groups(session: Session, now: datetime, today: date) -> list[_Group]:
    b, line = Backorder, OrderLine
    age = _age_case(now).label("age")
    delayed = case((delayed_condition(today), true()), else_=false()).label("delayed")
    value = func.sum(b.quantity * line.unit_price)
    stmt = (select(b.promised_eta, age, delayed, func.count(), func.sum(b.quantity), value,
                   func.count(line.unit_price), func.min(b.ordered_at))
            .join(line, line.id == b.order_line_id)
            .where(b.status.in_(WAITING))
            .group_by(b.promised_eta, age, delayed))
    groups = []
    for promised, bucket, is_delayed, count, units, total, priced, oldest in session.execute(stmt):
        if isinstance(oldest, str):  # SQLite's min() of a timestamp column comes back as text
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=timezone.utc)
        elif oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        if isinstance(promised, str):
            promised = date.fromisoformat(promised)
        groups.append(_Group(promised, int(bucket), bool(is_delayed), int(count), int(units or 0),
                             Decimal(str(total)) if total is not None else Decimal(0), int(priced or 0), oldest))
    return groups


def _shipped_days(session: Session, since: date) -> list[tuple[date, int, int]]:
    """(ship day, kept, shipped) of lines shipped since `since` that had a promised date."""
    b = Backorder
    # The ship day in UTC (PostgreSQL's date() of a timestamptz would use the session's zone).
    postgres = session.get_bind().dialect.name == "postgresql"
    day = func.date(func.timezone("UTC", b.shipped_at)) if postgres else func.date(b.shipped_at)
    kept = func.sum(case((day <= b.promised_eta, 1), else_=0))
    start = datetime(since.year, since.month, since.day, tzinfo=timezone.utc)
    stmt = (select(day, kept, func.count())
            .where(b.shipped_at >= start, b.status == "shipped", b.promised_eta.is_not(None))
            .group_by(day))
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
