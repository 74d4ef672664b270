"""Issue 15 item 5: ``jcfix lab up --base-address`` off loopback is a one-line usage error, before any lab starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fleet.conftest import jcfix_env
from toolkit.exitcodes import ExitCode


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "is not a 127.x.y.z loopback address"),
        ("not-an-address", "is not an IPv4 address"),
        ("::1", "is not an IPv4 address"),
        ("127.255.255.254", "leave 127.0.0.0/8"),  # starts on loopback, but its hosts would run off the end
    ],
)
def test_a_base_address_off_loopback_is_refused_in_one_line(tmp_path: Path, address: str, reason: str) -> None:
    lab_dir = tmp_path / "lab"
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "lab", "up", "--no-jumpcloud", "--base-address", address],
        capture_output=True,
        text=True,
        env={**jcfix_env(tmp_path), "JCFIX_LAB_DIR": str(lab_dir)},
        timeout=60,
    )
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"jcfix: error: --base-address {address!r}: ") and reason in result.stderr
    assert not lab_dir.exists()  # refused before the lab's folder, state or process
