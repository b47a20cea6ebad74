"""WSGI entry for scale-out web processes: `gunicorn 'plugin.wsgi:app'` (no worker, no scheduler)."""
from plugin.app import create_app

app = create_app()
