"""The merchant's embedded admin (pages under /admin, JSON API under /api/admin).

The foundation other pages build on (each documented in its module):

* blueprint.py  `bp`, `admin_page(rule, nav=...)` (verified page routes), FEATURE_MODULES
* auth.py       `AdminContext`, how requests are verified, `woocommerce_launch_secret`
* api.py        `api_route(...)`, `ApiError`, the registry openapi.py documents
* layout.py     `render_page(ctx, template, heading_key=...)`, NAV, the template helpers
* i18n.py       the English and Polish catalogue, `translate`, `choose_locale`
* charts.py     `bar_chart(...)`: accessible server-rendered SVG with a table alternative
* templates/admin/layout.html   blocks: title, heading_text, primary_action, content
"""
