"""Fixtures for the lab tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from toolkit.lab.fleet import LabFleet


@pytest.fixture(scope="module")
def healthy_fleet() -> Iterator[LabFleet]:
    """One healthy host over HTTP with Basic auth, tracing every WSMan exchange."""
    with LabFleet.from_scenario("healthy", trace=True) as fleet:
        yield fleet
