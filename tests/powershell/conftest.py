"""Fixtures for the lab PowerShell engine tests."""

from __future__ import annotations

import pytest
from psengine_support import Run, run_script


@pytest.fixture
def run() -> Run:
    return run_script
