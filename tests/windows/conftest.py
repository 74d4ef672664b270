"""The real-Windows suite's set-up: the environment from setup-host.ps1's summary, and shared fixtures.

``JCFIX_TEST_SETUP=<file>`` names the JSON summary ``setup-host.ps1 -Setup`` printed; the variables the
suite reads are filled from it unless already set (the password is read from the admin-only file the
summary names, so this must run elevated on the host itself, as the workflow and the README do).
Without ``JCFIX_TEST_HOST`` (set directly or from the summary) every test here is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kitfiles import read_summary, read_text


def _load_setup_summary() -> None:
    path = os.environ.get("JCFIX_TEST_SETUP", "")
    if not path:
        return
    summary = read_summary(path)
    os.environ.setdefault("JCFIX_TEST_KIT", str(Path(path).resolve()))
    os.environ.setdefault("JCFIX_TEST_HOST", summary["host"])
    os.environ.setdefault("JCFIX_TEST_USER", summary["user"])
    os.environ.setdefault("JCFIX_TEST_ARGS", summary["jcfix_args"])
    if "JCFIX_TEST_PASSWORD" not in os.environ:
        os.environ["JCFIX_TEST_PASSWORD"] = read_text(summary["password_file"]).strip()


# Before the test modules import winkit (which reads the environment once).
_load_setup_summary()

import winkit  # noqa: E402

# Reads first (they expect the host exactly as the kit built it), then what changes and restores it, and
# the tests that may restart the host last; other directories' tests keep their places.
MODULE_ORDER = ("test_real_host", "test_kit_reads", "test_kit_fixes", "test_kit_defects", "test_kit_sessions")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reboot: restarts the Windows host (runs only with JCFIX_TEST_ALLOW_REBOOT=1)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    slots = [i for i, item in enumerate(items) if Path(str(item.path)).resolve().parent == here]

    def rank(item: pytest.Item) -> int:
        stem = Path(str(item.path)).stem
        return MODULE_ORDER.index(stem) if stem in MODULE_ORDER else len(MODULE_ORDER)

    ordered = sorted((items[i] for i in slots), key=rank)  # stable: file order within a module
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


@pytest.fixture(scope="session")
def kit() -> dict[str, Any]:
    """setup-host.ps1's summary; tests that need the kit's cases skip without it."""
    summary = winkit.kit_summary()
    if summary is None:
        pytest.skip("the host was not set up with tests/windows/setup-host.ps1 (set JCFIX_TEST_SETUP)")
    return summary


@pytest.fixture(scope="session")
def shell() -> winkit.HostShell:
    """PowerShell on the host as the test administrator (64-bit endpoint)."""
    return winkit.HostShell()


@pytest.fixture(scope="session")
def account_passwords(kit: dict[str, Any], shell: winkit.HostShell) -> dict[str, Any]:
    """The kit's account passwords, read on the host from the admin-only file (never printed)."""
    return dict(
        shell.json(
            "param([string] $Path) Get-Content -LiteralPath $Path -Raw -Encoding UTF8",
            Path=kit["account_password_file"],
        )
    )


@pytest.fixture
def run_id(request: pytest.FixtureRequest) -> Iterator[str]:
    """A run id unique to this test and this session (names the backup folder on the host)."""
    stamp = os.environ.setdefault("JCFIX_TEST_SESSION_STAMP", os.urandom(3).hex())
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40].strip("-")
    yield f"kit-{stamp}-{name}"
