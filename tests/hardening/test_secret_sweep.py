"""Issue 15, "a fault and abuse suite that stays": the secret-sentinel sweep.

Sentinel values for the WinRM password (the lab accepts exactly it), the new local password, the JumpCloud API
key (the API stand-in accepts exactly it) and the initial JumpCloud password go through every command that
takes one, with ``--debug``, every report and the run history. None may appear in stdout, stderr, any file
the runs leave (JUnit, HTML, JSON Lines, CSV, the history database as raw bytes, the JumpCloud journal), any
process's command line during a run, or the environment of a process jcfix starts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from hardening_support import base_environment, process_texts

from toolkit.lab.fleet import LabFleet, write_inventory
from toolkit.lab.jcapi import JumpCloudLab

SENTINELS = {
    "JCFIX_PASSWORD": "Sentinel-WinRM-Pw-8c1f",
    "JCFIX_NEW_PASSWORD": "Sentinel-New-Pw-5d2e",
    "JCFIX_JC_API_KEY": "sentinel-api-key-77a9b3",
    "JCFIX_JC_INITIAL_PASSWORD": "Sentinel-Initial-Pw-3b4a",
}


def _leaks(text: bytes) -> list[str]:
    return [name for name, value in SENTINELS.items() if value.encode() in text]


def _run_watched(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, bytes, list[str]]:
    """jcfix ARGS in a subprocess; its exit code, stdout+stderr, and the leaks seen in /proc while it ran."""
    process = subprocess.Popen(
        [sys.executable, "-m", "toolkit", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    seen: set[str] = set()
    end = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < end:
        for pid, text in process_texts(process.pid):
            seen.update(f"{name} in /proc/{pid}" for name in _leaks(text))
        time.sleep(0.1)
    stdout, stderr = process.communicate(timeout=max(1.0, end - time.monotonic()))
    return process.returncode, stdout + stderr, sorted(seen)


def _files_leaking(root: Path) -> list[str]:
    return [f"{name} in {path}" for path in root.rglob("*") if path.is_file() for name in _leaks(path.read_bytes())]


def _environment(tmp_path: Path, api: JumpCloudLab | None = None) -> dict[str, str]:
    env = base_environment(tmp_path)
    env.update(SENTINELS, JCFIX_HISTORY=str(tmp_path / "history.sqlite3"), JCFIX_JC_POLL_INTERVAL="0.1")
    if api is not None:
        env["JCFIX_JC_URL"] = api.url
    return env


def _reports(tmp_path: Path, name: str) -> list[str]:
    return ["--junit", str(tmp_path / f"{name}.xml"), "--html", str(tmp_path / f"{name}.html")]


def test_windows_passwords_never_leak(tmp_path: Path) -> None:
    """The WinRM password and the new local password (convert-msa --method unlink), with --debug and reports."""
    with LabFleet.from_scenario("msa", password=SENTINELS["JCFIX_PASSWORD"]) as fleet:
        inventory = tmp_path / "msa.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        env = _environment(tmp_path)
        target = ["-i", str(inventory), "--http", "--auth", "basic"]
        runs = [
            [
                "--debug",
                "fix",
                "convert-msa",
                "--user",
                "maria",
                "--method",
                "unlink",
                "--accept-data-loss",
                "--run-id",
                "sweep-1",
                "-o",
                "json",
                *target,
                *_reports(tmp_path, "fix"),
            ],
            ["--debug", "play", "takeover-readiness", "-o", "json", *target, *_reports(tmp_path, "play")],
        ]
        results = [_run_watched(args, env) for args in runs]
    assert results[0][0] == 5, results[0][1][-2000:]  # the unlink changed the host: the password was used
    # The history read back: a run's record and a CSV rebuilt from it (JUnit and HTML were written by the runs).
    out = str(tmp_path / "rebuilt.csv")
    for args in (
        ["runs", "show", "sweep-1", "-o", "json"],
        ["runs", "show", "sweep-1", "--format", "csv", "--out", out],
    ):
        results.append(_run_watched(args, env))
    for code, output, seen in results:
        assert _leaks(output) == [] and seen == [], (code, seen, output[-1000:])
    written = ["history.sqlite3", "rebuilt.csv", "fix.xml", "fix.html", "play.xml", "play.html"]
    assert [name for name in written if not (tmp_path / name).exists()] == []  # the sweep below reads them all
    assert _files_leaking(tmp_path) == []


def test_jumpcloud_key_and_initial_password_never_leak(tmp_path: Path) -> None:
    """The API key (diagnose --jc-api, jc-activate) and the initial password (jc-activate --set-password)."""
    with LabFleet.from_scenario("jumpcloud") as fleet, JumpCloudLab.for_hosts(fleet.hosts, "jumpcloud") as api:
        api.directory.api_key = SENTINELS["JCFIX_JC_API_KEY"]
        inventory = tmp_path / "jc.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        env = _environment(tmp_path, api)
        env["JCFIX_PASSWORD"] = fleet.password  # this lab's WinRM password (swept in the test above)
        activate = ["--debug", "fix", "jc-activate", "--jc-user", "newhire", "--set-password", "--run-id", "jc-1"]
        diagnose = ["--debug", "diagnose", "--jc-api", "-l", "lab-jc-nopw", "-i", str(inventory), "--http"]
        results = [
            _run_watched([*activate, "-o", "json"], env),
            _run_watched([*diagnose, "-o", "json", *_reports(tmp_path, "diagnose")], env),
        ]
    assert results[0][0] == 5, results[0][1][-2000:]  # activated with the initial password: it was sent
    assert results[1][0] not in (1, 2), results[1][1][-2000:]  # diagnosed, through the API
    for code, output, seen in results:
        assert _leaks(output) == [] and seen == [], (code, seen, output[-1000:])
    assert list((tmp_path / "journal").glob("*.json")), "the JumpCloud journal was written"
    assert (tmp_path / "diagnose.xml").exists() and (tmp_path / "diagnose.html").exists()
    assert _files_leaking(tmp_path) == []
