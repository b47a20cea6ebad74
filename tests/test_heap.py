"""A serving process freezes the heap it built its app with (plugin/heap.py)."""
import gc
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from plugin.heap import settle_startup_heap
from tests.conftest import API_KEY, API_SECRET

ROOT = Path(__file__).resolve().parents[1]


def test_settling_moves_what_survives_into_the_permanent_generation():
    kept = [[i] for i in range(1000)]  # long-lived objects the collector tracks
    try:
        frozen = settle_startup_heap()
        # (<=: a background thread left by an earlier test may free a frozen object in between)
        assert frozen >= gc.get_freeze_count() >= len(kept)
        assert all(gc.is_tracked(item) for item in kept)
        # Frozen objects are no longer in any generation a collection walks.
        walked = {id(o) for o in gc.get_objects()}
        assert id(kept[0]) not in walked
    finally:
        gc.unfreeze()


def test_the_scale_out_wsgi_module_serves_with_a_frozen_heap(tmp_path, sqlite_template):
    import shutil

    db = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, db)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}", SHOPIFY_API_KEY=API_KEY, SHOPIFY_API_SECRET=API_SECRET,
               SECRET_KEY="test-secret-key", ENCRYPTION_KEY=Fernet.generate_key().decode(),
               APP_URL="https://app.example.test", INSTANCE_PATH=str(tmp_path / "instance"), WORKER_THREADS="0")
    script = "import gc, plugin.wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    frozen, walked = int(out[0]), int(out[1])
    assert frozen > 50_000  # the app's start-up heap (Flask, SQLAlchemy, pydantic, Babel)
    assert walked < frozen / 10  # what a full collection still has to walk
