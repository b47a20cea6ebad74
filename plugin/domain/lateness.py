"""How late each supplier delivers, learnt from what they promised and when the goods came.

Pure Python: no I/O, no frameworks. One history record is a purchase-order line: the supplier,
the date they promised, and the date it was received (None while it is still open). Days late is
received - promised (negative: early).

Why Kaplan-Meier: the lines still open are the late ones. Dropping them would teach us that a
supplier is more punctual than they are; counting them as received today would too. An open line
says "later than today - promised", a right-censored observation, and the Kaplan-Meier estimator
uses exactly that: it stays in the risk set up to its censoring point and no further. Open lines
not yet due are censored at a negative value and barely matter, as they should.

Why shrinkage: two receipts say little. Each supplier's quantile function is blended with the
pooled one (everyone's records) with the credibility weight n / (n + k): Buhlmann's formula for
a mean, applied level by level. n is the supplier's receipts plus its overdue open lines; k is
estimated from the history (`credibility_strength`: within- over between-supplier variance), so
when suppliers differ a lot a few receipts already count. Blending quantile functions (not CDFs)
moves the whole shape toward the pool smoothly and keeps P10 <= P50 <= P90.

Why recency weights and a trend: suppliers change (a new forwarder, a factory falling behind).
A receipt counts 0.5 ** (age / half_life_days), half a year by default. On top, a supplier's
linear trend in days late (per day of promise date) is fitted on its receipts and kept only
where it stands out of the noise (shrunk to zero below two standard errors, `TREND_GATE`): the
history is moved to today's level and the trend carried on to each lot's due date. Without it
a supplier getting steadily later is always promised from where they were months ago.

Beyond the longest delay seen, Kaplan-Meier has no answer when the longest observation is still
open. A supplier's tail then follows the pool's (conditional on being that late); the pool's own
tail fades exponentially with a `TAIL_SCALE_DAYS` scale. With no history at all, the supplier's
declared spread is used as a normal spread around the promise: P10 = -spread, P90 = +spread.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from datetime import date
from statistics import NormalDist
from typing import Hashable, Iterable, NamedTuple

TAIL_SCALE_DAYS = 7.0
TREND_GATE = 2.0  # standard errors a trend must stand out by before it counts at all
GRID = tuple((i + 0.5) / 400 for i in range(400))  # quantile levels blended and rounded to days
_Z90 = NormalDist().inv_cdf(0.9)
_EPS = 1e-12
# The version of what `LatenessModel.fit` computes: a stored fit (`to_state`) of another version
# is fitted anew. Bump it with every change to the fit or to the state's layout.
FIT_VERSION = 1


class LatenessRecord(NamedTuple):
    """One purchase-order line's history. Cancelled lines never arrive: leave them out."""

    supplier_key: Hashable
    promised: date
    received: date | None


class KaplanMeier:
    """Distribution of days late from weighted, right-censored observations (product-limit)."""

    __slots__ = ("values", "cdf", "last", "survival_end", "receipts", "tail", "_unconditional")

    def __init__(self, events: dict[int, float], censored: dict[int, float], tail: KaplanMeier | None = None):
        at_risk = sum(events.values()) + sum(censored.values())
        survival = 1.0
        values: list[int] = []
        cdf: list[float] = []
        for value in sorted(events.keys() | censored.keys()):
            received = events.get(value, 0.0)
            if received > 0 and at_risk > _EPS:
                survival *= max(0.0, 1.0 - received / at_risk)
                if survival < _EPS:
                    survival = 0.0
                values.append(value)
                cdf.append(1.0 - survival)
            at_risk -= received + censored.get(value, 0.0)
        self.values = values
        self.cdf = cdf
        self.last = max(events.keys() | censored.keys()) if (events or censored) else 0
        self.survival_end = survival
        self.receipts = sum(events.values())
        self.tail = tail  # the distribution whose shape continues ours beyond `last`
        self._unconditional: tuple | None = None  # (levels, quantiles): the common case, once

    def state(self) -> list:
        """What it was fitted to, as JSON-ready lists (the tail apart: the model ties it back)."""
        return [self.values, self.cdf, self.last, self.survival_end, self.receipts]

    @classmethod
    def from_state(cls, state: list, tail: KaplanMeier | None) -> KaplanMeier:
        km = cls.__new__(cls)
        km.values, km.cdf, km.last, km.survival_end, km.receipts = state
        km.tail, km._unconditional = tail, None
        return km

    def survival(self, days: float) -> float:
        """P(days late > days)."""
        if days <= self.last:
            index = bisect_right(self.values, days) - 1
            return 1.0 if index < 0 else 1.0 - self.cdf[index]
        if self.survival_end <= 0.0:
            return 0.0
        if self.tail is not None:
            base = self.tail.survival(self.last)
            if base > _EPS:
                return self.survival_end * self.tail.survival(days) / base
        return self.survival_end * math.exp(-(days - self.last) / TAIL_SCALE_DAYS)

    def quantile(self, p: float) -> float:
        """Smallest value d with P(days late <= d) >= p (beyond the data: the tail)."""
        if self.cdf and self.cdf[-1] >= p - _EPS:
            return float(self.values[bisect_left(self.cdf, p - _EPS)])
        left = 1.0 - p  # survival wanted, below survival_end: we are in the tail
        if self.tail is not None:
            base = self.tail.survival(self.last)
            if base > _EPS:
                return max(self.last + 1.0, self.tail.quantile(1.0 - left * base / self.survival_end))
        return float(self.last + max(1, math.ceil(TAIL_SCALE_DAYS * math.log(self.survival_end / max(left, _EPS)))))

    def quantiles(self, levels: Iterable[float]) -> list[float]:
        """quantile(p) for each of ascending levels, in one walk along the CDF."""
        cdf, values, result = self.cdf, self.values, []
        reach = cdf[-1] if cdf else -1.0
        index = 0
        for p in levels:
            if p - _EPS > reach:
                result.append(self.quantile(p))  # in the tail
                continue
            while cdf[index] < p - _EPS:
                index += 1
            result.append(float(values[index]))
        return result

    def conditional_quantiles(self, levels: tuple[float, ...], at_least: float | None) -> list[float] | None:
        """Quantiles of days late given it is at least `at_least`; None if we cannot say."""
        if at_least is None:
            if self._unconditional is None or self._unconditional[0] is not levels:
                self._unconditional = (levels, self.quantiles(levels))
            return self._unconditional[1]
        before = 1.0 - self.survival(at_least - 0.5)  # whole days: P(days late < at_least)
        if before >= 1.0 - _EPS:
            return None  # never this late in this history
        floor = float(at_least)
        return [max(floor, x) for x in self.quantiles([before + q * (1.0 - before) for q in levels])]


class DaysLate(NamedTuple):
    """A whole-day distribution of days late: `values` ascending, `cdf[i]` = P(days late <= values[i])."""

    values: tuple[int, ...]
    cdf: tuple[float, ...]

    def quantile(self, q: float) -> int:
        """Smallest day whose probability of being met is at least q."""
        index = bisect_left(self.cdf, q - 1e-9)
        return self.values[min(index, len(self.values) - 1)]

    def bracket(self, q: float) -> tuple[int, int, float]:
        """(lower day, upper day, share of lines to put on the lower day) so that, on average,
        q of the promises are kept: the day met with probability q rarely exists (see eta.py)."""
        index = min(bisect_left(self.cdf, q - 1e-9), len(self.values) - 1)
        upper, kept_upper = self.values[index], self.cdf[index]
        if index == 0 or kept_upper - q <= 1e-9:
            return upper, upper, 0.0
        kept_lower = self.cdf[index - 1]
        return self.values[index - 1], upper, (kept_upper - q) / (kept_upper - kept_lower)


class LatenessModel:
    """Distributions of days late per supplier: `distribution(supplier)`, `days_late(supplier, q)`."""

    def __init__(self, suppliers: dict[Hashable, KaplanMeier], pool: KaplanMeier | None,
                 weights: dict[Hashable, float], prior_strength: float = 10.0,
                 trends: dict[Hashable, float] | None = None):
        self.suppliers = suppliers
        self.trends = trends or {}  # days late per day, per supplier
        self.pool = pool
        self.weights = weights  # receipts + overdue open lines, recency-weighted
        self.prior_strength = prior_strength
        # Conditioning on "at least m days late" changes nothing below the earliest day seen.
        self._floor = pool.values[0] if pool is not None and pool.values else 0
        self._cache: dict[tuple, DaysLate] = {}

    @classmethod
    def fit(cls, records: Iterable[tuple], today: date, *, prior_strength: float | None = None,
            half_life_days: float | None = 180.0, trend: bool = True) -> LatenessModel:
        """Learn from history records (supplier_key, promised, received or None) as of `today`.

        A record may carry a fourth element, a count: that many identical PO lines (what a
        GROUP BY supplier, promised, received over the purchase-order lines gives). The fit is
        the same as with the lines one by one, without building each of them.
        `prior_strength` k: None estimates it from the history (see `credibility_strength`).
        A record received after `today` counts as open: the model knows only the past.
        """
        observations: dict[Hashable, list[tuple[int, int, float, bool, float]]] = {}
        pool_events: dict[float, float] = {}
        pool_censored: dict[float, float] = {}
        weights: dict[Hashable, float] = {}
        now = today.toordinal()
        for record in records:
            supplier_key, promised, received = record[0], record[1], record[2]
            count = record[3] if len(record) > 3 else 1
            if promised is None or count <= 0:
                continue
            if received is None or received > today:  # still open as of today
                days, weight, received_ = (today - promised).days, 1.0, False
                informative = days > 0  # an overdue line says "at least this late"
            else:
                days, received_ = (received - promised).days, True
                age = (today - received).days
                weight = 0.5 ** (age / half_life_days) if half_life_days else 1.0
                informative = True
            observations.setdefault(supplier_key, []).append((promised.toordinal(), days, weight, received_, count))
            mass = weight * count
            target = pool_events if received_ else pool_censored
            target[days] = target.get(days, 0.0) + mass
            if informative:
                weights[supplier_key] = weights.get(supplier_key, 0.0) + mass
        pool = KaplanMeier(pool_events, pool_censored) if pool_events else None
        suppliers = {}
        trends = {}
        raw_events = []
        for key, rows in observations.items():
            slope = trend_slope(rows) if trend else 0.0
            if slope:
                trends[key] = slope
            events: dict[float, float] = {}
            censored: dict[float, float] = {}
            plain: dict[int, float] = {}
            for when, days, weight, received_, count in rows:
                value = days + slope * (now - when) if slope else days
                mass = weight * count
                target = events if received_ else censored
                target[value] = target.get(value, 0.0) + mass
                if received_:
                    plain[days] = plain.get(days, 0.0) + mass
            suppliers[key] = KaplanMeier(events, censored, tail=pool)
            raw_events.append(plain)
        if prior_strength is None:
            prior_strength = credibility_strength(raw_events)
        return cls(suppliers, pool, weights, prior_strength, trends)

    @classmethod
    def empty(cls) -> LatenessModel:
        return cls({}, None, {})

    def to_state(self) -> dict:
        """The fitted model as plain JSON data (`from_state` gives it back, answering alike).

        Supplier keys are kept in [key, value] pairs, not as object keys, so ints stay ints.
        Floats survive JSON exactly (shortest repr round trip)."""
        return {"version": FIT_VERSION, "prior_strength": self.prior_strength,
                "pool": None if self.pool is None else self.pool.state(),
                "suppliers": [[key, km.state()] for key, km in self.suppliers.items()],
                "weights": [[key, weight] for key, weight in self.weights.items()],
                "trends": [[key, slope] for key, slope in self.trends.items()]}

    @classmethod
    def from_state(cls, state: dict) -> LatenessModel:
        """A model from `to_state`; ValueError for another FIT_VERSION or a state it cannot read."""
        try:
            if state["version"] != FIT_VERSION:
                raise ValueError(f"a fit of version {state['version']!r}, not {FIT_VERSION}")
            pool = None if state["pool"] is None else KaplanMeier.from_state(state["pool"], None)
            suppliers = {key: KaplanMeier.from_state(km, pool) for key, km in state["suppliers"]}
            return cls(suppliers, pool, {key: weight for key, weight in state["weights"]},
                       state["prior_strength"], {key: slope for key, slope in state["trends"]})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a lateness model state: {exc!r}") from None

    def credibility(self, supplier_key: Hashable) -> float:
        """How much of a supplier's quantiles come from its own history (0..1)."""
        n = self.weights.get(supplier_key, 0.0)
        return n / (n + self.prior_strength) if n > 0 else 0.0

    def days_late(self, supplier_key: Hashable, q: float, *, due_in_days: int | None = None,
                  declared_spread_days: float = 0.0) -> int:
        """Smallest whole number of days late reached with probability q (see `distribution`)."""
        return self.distribution(supplier_key, due_in_days=due_in_days,
                                 declared_spread_days=declared_spread_days).quantile(q)

    def distribution(self, supplier_key: Hashable, *, due_in_days: int | None = None,
                     declared_spread_days: float = 0.0) -> DaysLate:
        """Days late of the supplier's lot due in `due_in_days` days (negative: overdue) that
        has not arrived yet; None: any lot, no condition.

        Not arrived yet means it comes today at the earliest: at least -due_in_days late. The
        supplier's trend (if any) is carried forward to the due date. The supplier's and the
        pool's quantile functions are blended level by level on a fine grid, and each blended
        point rounded to a whole day.
        """
        at_least = None if due_in_days is None else -due_in_days
        if at_least is not None and self.pool is not None and at_least <= self._floor:
            at_least = None  # no lot was ever that early: the condition changes nothing
        shift = round(self.trends.get(supplier_key, 0.0) * (due_in_days or 0), 1)
        key = (supplier_key, at_least, shift, declared_spread_days if self.pool is None else None)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._distribution(supplier_key, at_least, shift, declared_spread_days)
        return found

    def _distribution(self, supplier_key, at_least, shift, spread) -> DaysLate:
        if self.pool is None:
            return _declared(at_least, spread)
        pooled = self.pool.conditional_quantiles(GRID, at_least)
        if pooled is None:  # later than anyone ever was: a short exponential tail past today
            pooled = [at_least + math.ceil(TAIL_SCALE_DAYS * -math.log(1.0 - u)) for u in GRID]
        weight = self.credibility(supplier_key)
        own = None
        if weight > 0:
            # The supplier's history is stated at today's level; its trend moves it to the due date.
            own = self.suppliers[supplier_key].conditional_quantiles(
                GRID, None if at_least is None else at_least - shift)
        if own is None:
            days = [math.floor(x + 0.5) for x in pooled]
        else:
            days = [math.floor(weight * (a + shift) + (1.0 - weight) * b + 0.5) for a, b in zip(own, pooled)]
        return _from_atoms(days)


def _from_atoms(days: list[int]) -> DaysLate:
    """Equal-mass whole-day points (ascending) as a DaysLate."""
    values, cdf = [], []
    for index, day in enumerate(days, 1):
        if values and values[-1] == day:
            cdf[-1] = index / len(days)
        else:
            values.append(day)
            cdf.append(index / len(days))
    cdf[-1] = 1.0
    return DaysLate(tuple(values), tuple(cdf))


def credibility_strength(histories: Iterable[dict[int, float]], default: float = 10.0) -> float:
    """k in n / (n + k), estimated the Buhlmann-Straub way from receipts (weights as counts).

    k = (variance within a supplier) / (variance between suppliers' means): when suppliers differ
    a lot, a few receipts already say which kind a supplier is; when they are alike, the pool is
    as good as the supplier's own few receipts. Needs two suppliers with two receipts; clamped
    to 1..100 so one receipt never outweighs everyone, and identical suppliers still learn.
    """
    stats = []
    for events in histories:
        n = sum(events.values())
        if n >= 2:
            mean = sum(d * w for d, w in events.items()) / n
            var = sum(w * (d - mean) ** 2 for d, w in events.items()) / (n - 1)
            stats.append((n, mean, var))
    if len(stats) < 2:
        return default
    total = sum(n for n, _, _ in stats)
    within = sum((n - 1) * var for n, _, var in stats) / sum(n - 1 for n, _, _ in stats)
    grand = sum(n * mean for n, mean, _ in stats) / total
    spread = sum(n * (mean - grand) ** 2 for n, mean, _ in stats) - (len(stats) - 1) * within
    between = spread / (total - sum(n * n for n, _, _ in stats) / total)
    if between <= 0:
        return 100.0
    return min(100.0, max(1.0, within / between))


def trend_slope(rows: list[tuple]) -> float:
    """Days late per day of promise date, by weighted least squares on the receipts of
    (promise ordinal, days late, weight, received[, count]) rows; shrunk by (1 - (gate * se / slope)^2)+
    so that a slope within two standard errors of zero is zero, and a clear one nearly intact.
    Open lines are left out: a trend is about when things came. A count stands for that many
    identical rows."""
    points = [(row[0], row[1], row[2], row[4] if len(row) > 4 else 1) for row in rows if row[3]]
    total = sum(w * c for _, _, w, c in points)
    if sum(c for _, _, _, c in points) < 5 or total <= 0:
        return 0.0
    mean_t = sum(t * w * c for t, _, w, c in points) / total
    mean_y = sum(y * w * c for _, y, w, c in points) / total
    sxx = sum(w * c * (t - mean_t) ** 2 for t, _, w, c in points)
    n_eff = total * total / sum(w * w * c for _, _, w, c in points)  # recency weights are not counts
    if sxx <= 0 or n_eff <= 3:
        return 0.0
    slope = sum(w * c * (t - mean_t) * (y - mean_y) for t, y, w, c in points) / sxx
    residual = sum(w * c * (y - mean_y - slope * (t - mean_t)) ** 2 for t, y, w, c in points) / total
    se2 = residual * n_eff / (n_eff - 2) / (sxx * n_eff / total)
    if slope == 0:
        return 0.0
    return slope * max(0.0, 1.0 - TREND_GATE ** 2 * se2 / (slope * slope))


def _declared(at_least: int | None, spread: float) -> DaysLate:
    """No history anywhere: a normal spread around the promise whose P90 is +spread days."""
    if spread <= 0:
        day = max(0, at_least) if at_least is not None else 0
        return DaysLate((day,), (1.0,))
    dist = NormalDist(0.0, spread / _Z90)
    low = math.floor(-4 * dist.stdev) if at_least is None else max(math.floor(-4 * dist.stdev), at_least)
    high = max(low, math.ceil(4 * dist.stdev))
    before = dist.cdf(low - 0.5)
    mass = 1.0 - before
    values = tuple(range(low, high + 1))
    cdf = [min(1.0, (dist.cdf(v + 0.5) - before) / mass) if mass > _EPS else 1.0 for v in values]
    cdf[-1] = 1.0
    return DaysLate(values, tuple(cdf))
