"""WSGI entry for scale-out web processes: `gunicorn 'plugin.wsgi:app'` (no worker, no scheduler)."""
from plugin.app import create_app
from plugin.heap import settle_startup_heap

app = create_app()
settle_startup_heap()
