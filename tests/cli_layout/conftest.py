"""Fixtures for the layout tests: the e2e helpers (lab fleet in-process, jcfix CLI in a subprocess)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_support import start_lab

__all__ = ["start_lab"]
