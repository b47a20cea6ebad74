"""ETA recompute: feeds the pure engine (plugin.domain) from the database and stores its answers."""
