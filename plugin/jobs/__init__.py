"""Scheduled work: what runs when (schedule.py) and the traces it leaves behind (runs.py).

Kept import-free so `plugin.jobs.runs` can be used without loading APScheduler.
"""
