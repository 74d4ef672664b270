"""Fixtures for the ``--output json`` tests: the e2e and JumpCloud lab helpers, and loopback-only JumpCloud."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "e2e"))
sys.path.insert(0, str(TESTS / "jumpcloud"))

from e2e_support import start_lab  # noqa: E402

__all__ = ["start_lab"]
