"""The rules tests build raw v2 facts with the helpers of ``tests/facts`` (``factsupport``); the scenario-wide
test starts the lab and the JumpCloud stand-in with the helpers of ``tests/jumpcloud`` (``jc_support``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "facts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jumpcloud"))
