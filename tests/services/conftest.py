"""Service tests reuse the JumpCloud lab support (a lab fleet plus the JumpCloud API stand-in, on loopback)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "jumpcloud"))
