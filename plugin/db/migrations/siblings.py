"""A migration's access to an earlier one's SQL builders.

Revision files are named for Alembic (`0009_backorder_tallies.py`), not for import: a name that
starts with a digit is not a module name, so a later migration that rebuilds an earlier one's
triggers or functions loads that file by its path.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).with_name("versions")


def load(filename: str) -> ModuleType:
    """The revision file `versions/<filename>` as a module of its own."""
    path = VERSIONS / filename
    spec = importlib.util.spec_from_file_location(f"_migration_{path.stem.split('_', 1)[0]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
