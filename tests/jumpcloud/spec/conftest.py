"""The spec tests import ``jc_support`` from the directory above (pytest puts only this one on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
