"""Keep Python's full garbage collections off the request path of a serving process.

A web process holds ~130,000 objects once the app is built (Flask, SQLAlchemy's mappers and
compiled statements, pydantic models, Babel's locale data). CPython's oldest-generation collection
walks all of them, holding the GIL: ~75 ms on the 2-core reference machine, during which every
request of the process waits - a webhook acknowledgement that should take 20 ms takes 100. These
objects live as long as the process, so scanning them finds nothing to free.

`settle_startup_heap` collects once and then moves every surviving object into the permanent
generation (`gc.freeze`), which the collector never walks; what requests allocate later is
collected as before. Called where a serving process has finished building its app: the scale-out
WSGI module, the embedded server's worker, and the benchmark's app.
"""
from __future__ import annotations

import gc


def settle_startup_heap() -> int:
    """Collect, then freeze what is left. Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
