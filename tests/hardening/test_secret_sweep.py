"""Issue 15, "a fault and abuse suite that stays": the secret-sentinel sweep.

Sentinel values for the WinRM password (the lab accepts exactly it), the new local password, the JumpCloud API
key (the API stand-in accepts exactly it) and the initial JumpCloud password go through every command that
takes one, with ``--debug``, every report and the run history. None may appear in stdout, stderr, any file
the runs leave (JUnit, HTML, JSON Lines, CSV, the history database as raw bytes, the JumpCloud journal), any
process's command line during a run, or the environment of a process jcfix starts. Each password is looked
for in its NTLM forms too (``secret_forms``): under ``--auth ntlm`` jcfix hands pyspnego the ``LM:NT`` hashes,
which are as secret as the password (pass-the-hash).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hardening_support import base_environment
from secret_forms import LAUNCHER, launcher_environment, leaks_in, pickled_reports, process_texts, secret_forms

from toolkit.lab.fleet import LabFleet, write_inventory
from toolkit.lab.jcapi import JumpCloudLab
from toolkit.lab.scenarios import load_hosts

SENTINELS = {
    "JCFIX_PASSWORD": "Sentinel-WinRM-Pw-8c1f",
    "JCFIX_NEW_PASSWORD": "Sentinel-New-Pw-5d2e",
    "JCFIX_JC_API_KEY": "sentinel-api-key-77a9b3",
    "JCFIX_JC_INITIAL_PASSWORD": "Sentinel-Initial-Pw-3b4a",
}


FORMS = {label: value for name, secret in SENTINELS.items() for label, value in secret_forms(name, secret).items()}
JCFIX = [sys.executable, "-m", "toolkit"]


def _leaks(text: bytes) -> list[str]:
    return leaks_in(text, FORMS)


def _run_watched(
    args: list[str], env: dict[str, str], timeout: float = 120, command: list[str] = JCFIX
) -> tuple[int, bytes, list[str]]:
    """jcfix ARGS in a subprocess; its exit code, stdout+stderr, and the leaks seen in /proc while it ran."""
    # Output goes to files, not pipes: --debug writes more than a pipe holds while this loop is not reading it.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([*command, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        seen: set[str] = set()
        end = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < end:
            for pid, text in process_texts(process.pid):
                seen.update(f"{name} in /proc/{pid}" for name in _leaks(text))
            time.sleep(0.1)
        process.wait(timeout=max(1.0, end - time.monotonic()))
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read() + err.read(), sorted(seen)


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


# Fault hosts that fail fast (the hung and slow ones would only add time): their errors are exception texts.
FAST_FAULTS = {"fault-reject-auth", "fault-http-500", "fault-drop", "fault-refused"}
TIMEOUTS = ["--deadline", "20", "--operation-timeout", "1", "--read-timeout", "3", "--connect-timeout", "2"]


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_ntlm_password_and_its_hash_forms_never_leak_with_worker_processes(tmp_path: Path, tls: bool) -> None:
    """--auth ntlm, two worker processes: a fix, a play, a diagnose with fault hosts, a preview, the history.

    Every output, file (the pickles are each report a worker sent its parent) and process text is searched for
    the password, its LM and NT hashes (hex in either case, raw) and its UTF-16-LE form. Home, data, state,
    cache and temporary folders are under ``tmp_path`` too, so that the sweep reads any file jcfix writes.
    """
    password = SENTINELS["JCFIX_PASSWORD"]
    msa = load_hosts("msa", count=4)
    faults = [host for host in load_hosts("faults") if host.hostname in FAST_FAULTS]
    with LabFleet(msa + faults, auth="ntlm", tls=tls, password=password) as fleet:
        inventories = {"msa": tmp_path / "msa.yaml", "all": tmp_path / "all.yaml"}
        msa_endpoints = [endpoint for endpoint in fleet.server.endpoints if endpoint.hostname.startswith("lab-msa")]
        write_inventory(inventories["msa"], msa_endpoints, msa, fleet.certificate)
        write_inventory(inventories["all"], fleet.server.endpoints, fleet.hosts, fleet.certificate)
        env = _environment(tmp_path)
        for name in ("HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "TMPDIR"):
            env[name] = str(tmp_path / "home" / name.lower())
            Path(env[name]).mkdir(parents=True)

        def run(name: str, args: list[str], inventory: str = "all") -> tuple[int, bytes, list[str]]:
            target = ["-i", str(inventories[inventory]), "--https" if tls else "--http", "--auth", "ntlm", *TIMEOUTS]
            launched = launcher_environment(env, tmp_path / f"pickles-{name}", workers=2)
            return _run_watched(["--debug", *args, *target], launched, command=[sys.executable, "-c", LAUNCHER])

        # --no-jc-api: the API key sentinel is set, and the JumpCloud API is not this test's (nor reachable).
        # --retries 1: a retry's note is an exception text too; one retry is enough and keeps the test short.
        play = ["play", "takeover-readiness", "--no-jc-api", "--retries", "1"]
        fix = ["fix", "convert-msa", "--user", "maria", "--method", "unlink", "--accept-data-loss"]
        results = [
            run("fix", [*fix, "--run-id", "ntlm-1", "-o", "json", *_reports(tmp_path, "fix")], "msa"),
            run("play", [*play, "--run-id", "ntlm-2", "-o", "json", *_reports(tmp_path, "play")]),
            run("diagnose", ["diagnose", "--no-jc-api", "-o", "json", *_reports(tmp_path, "diagnose")]),
            run("preview", [*play, "--dry-run"]),
        ]
    assert results[0][0] == 5, results[0][1][-2000:]  # the unlink changed the hosts: the hash form logged on
    # The fault hosts failed with their own errors: the exception texts of a refused logon and a dropped connection.
    assert b"auth_failed" in results[2][1] and b"connection dropped" in results[2][1], results[2][1][-2000:]
    for name, hosts in (("fix", 4), ("play", 8), ("diagnose", 8)):
        workers = pickled_reports(tmp_path / f"pickles-{name}")
        assert len(workers) == 2 and sum(workers.values()) >= hosts, (name, workers)  # two workers sent them all
    out = str(tmp_path / "rebuilt.csv")
    for args in (["runs", "show", "ntlm-2", "-o", "json"], ["runs", "show", "ntlm-1", "--format", "csv", "--out", out]):
        results.append(_run_watched(args, env))
    for code, output, seen in results:
        assert _leaks(output) == [] and seen == [], (code, seen, output[-1000:])
    written = ["history.sqlite3", "rebuilt.csv", "fix.xml", "fix.html", "play.html", "diagnose.xml", "diagnose.html"]
    assert [name for name in written if not (tmp_path / name).exists()] == []  # the sweep below reads them all
    assert _files_leaking(tmp_path) == []
