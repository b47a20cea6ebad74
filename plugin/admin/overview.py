"""The Overview page (the app home, GET /admin) and GET /api/admin/overview."""
from __future__ import annotations

from datetime import date

from flask import current_app

from plugin.admin.api import api_route
from plugin.admin.auth import AdminContext
from plugin.admin.blueprint import admin_page
from plugin.admin.charts import Bar, Figure, bar_chart
from plugin.admin.i18n import format_day, format_number, translate
from plugin.admin.layout import render_page
from plugin.admin.queries import overview
from plugin.admin.schemas import OverviewOut


def _runtime():
    return current_app.extensions["backorder_desk"]


@admin_page("/admin", nav="overview")
def overview_page(ctx: AdminContext):
    data = overview(_runtime(), ctx.shop_id)
    return render_page(ctx, "admin/overview.html", heading_key="overview.title", data=data,
                       charts=overview_charts(data, ctx.locale))


@api_route("GET", "/api/admin/overview", summary="The shop's backorder figures and chart series",
           response=OverviewOut, tags=["overview"])
def api_overview(ctx: AdminContext) -> OverviewOut:
    """Open lines and units, value waiting to ship, oldest line, promises kept (30 days), delayed lines,
    and the series behind the Overview's three charts."""
    return overview(_runtime(), ctx.shop_id)


def _week_label(start: date | None, key: str, locale: str) -> str:
    if start is not None:
        return format_day(start, locale, "d MMM")
    return translate(locale, f"chart.by_week.{key}")


def overview_charts(data: OverviewOut, locale: str) -> list[Figure]:
    t = lambda key, **v: translate(locale, key, **v)  # noqa: E731
    week_bars = [Bar(_week_label(p.start, p.label, locale), p.value, format_number(int(p.value), locale),
                     f"{t('chart.lines')}: {p.lines}") for p in data.by_promised_week]
    by_week = bar_chart(
        t("chart.by_week.title"), t("chart.by_week.desc"), week_bars, x_label=t("chart.by_week.x"),
        y_label=t("chart.units"), empty_text=t("chart.empty"),
        table_head=[t("chart.by_week.x"), t("chart.units"), t("chart.lines")],
        table_rows=[[bar.label, format_number(p.units or 0, locale), format_number(p.lines or 0, locale)]
                    for bar, p in zip(week_bars, data.by_promised_week)])
    age_bars = [Bar(p.label, p.value, format_number(int(p.value), locale), f"{t('chart.units')}: {p.units}")
                for p in data.ageing]
    ageing = bar_chart(
        t("chart.ageing.title"), t("chart.ageing.desc"), age_bars, x_label=t("chart.ageing.x"),
        y_label=t("chart.lines"), empty_text=t("chart.empty"),
        table_head=[t("chart.ageing.x"), t("chart.lines"), t("chart.units")],
        table_rows=[[p.label, format_number(p.lines or 0, locale), format_number(p.units or 0, locale)]
                    for p in data.ageing])
    kept_bars = [Bar(format_day(p.start, locale, "d MMM"), p.value,
                     f"{p.value * 100:.0f}%" if p.lines else "–", f"{p.kept}/{p.lines}")
                 for p in data.kept_over_time]
    kept = bar_chart(
        t("chart.kept.title"), t("chart.kept.desc"), kept_bars, x_label=t("chart.kept.x"),
        y_label=t("chart.share"), max_value=1.0, empty_text=t("chart.empty"),
        table_head=[t("chart.kept.x"), t("chart.share"), t("chart.shipped")],
        table_rows=[[bar.label, bar.text, format_number(p.lines or 0, locale)]
                    for bar, p in zip(kept_bars, data.kept_over_time)])
    return [by_week, ageing, kept]
