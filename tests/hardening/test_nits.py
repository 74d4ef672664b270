"""Issue 15 item 11 nits: report paths refused up front and never leaving temporary files, --debug never changing
the exit code, control characters escaped in every HTML value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import typer
from subprocess_env import environ_without_jcfix
from typer import _click as click

from toolkit.actions import get_action
from toolkit.backups import SYSTEM_POLICY_SUBKEY
from toolkit.cli import app as cli_app
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.jumpcloud.client import JumpCloudError
from toolkit.lab import readback
from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME
from toolkit.lab.fleet import LabFleet, write_inventory
from toolkit.lab.hostmachine import machine_of
from toolkit.recorder import HOST_STATUSES, RunMeta, RunSummary
from toolkit.report import ReportOptions
from toolkit.report.html import HtmlRecorder
from toolkit.results import failed
from toolkit.runner import HostReport, Step
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget

STARTED = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
# A host name and an error as a hostile host could send them: ESC (recolours a terminal), a newline (forges a
# line), a right-to-left override (shows text reversed), BEL.
EVIL_NAME = "pc\x1b[31m-1\u202egnp.exe"
EVIL_ERROR = "Access denied\nlab-msa: rename_user ok\x07"


def _meta(command: str) -> RunMeta:
    return RunMeta(
        run_id="r-nits", command=command, playbook=None, user="tester", started=STARTED, check_mode=False, hosts=1
    )


def _report() -> HostReport:
    action = get_action("list_users")
    step = Step(action, RenderedScript(action.name, action.version, "# not rendered"))
    return HostReport(HostTarget(EVIL_NAME), [(step, failed("list_users", "script_failed", EVIL_ERROR))])


def _write(recorder: HtmlRecorder, command: str = "jcfix users list") -> None:
    recorder.start(_meta(command))
    recorder.host_done(_report())
    counts = dict.fromkeys(HOST_STATUSES, 0)
    counts["failed"] = 1
    recorder.finish(RunSummary(counts=counts, interrupted=False, ended=STARTED + timedelta(seconds=1), exit_code=3))


class _Text(HTMLParser):
    """The page's text and attribute values, entities resolved: what a browser would show."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values.extend(v for _, v in attrs if v)

    def handle_data(self, data: str) -> None:
        self.values.append(data)


def test_every_html_value_has_its_control_characters_escaped(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    _write(HtmlRecorder(path), command="jcfix users list --user 'a\x1bb'")
    page = _Text()
    page.feed(path.read_text(encoding="utf-8"))
    shown = "\n".join(page.values)
    for raw in ("\x1b", "\u202e", "\x07"):
        assert raw not in shown
    assert "pc\\x1b[31m-1\\u202egnp.exe" in shown  # the name, in text and in the data-host attribute
    assert 'data-host="pc\\x1b[31m-1\\u202egnp.exe"' in path.read_text(encoding="utf-8")
    assert "Access denied\\x0alab-msa: rename_user ok\\x07" in shown  # no forged line
    assert "--user 'a\\x1bb'" in shown  # the run's own values too


def test_a_directory_as_report_path_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^--html .* is a folder"):
        ReportOptions(html=tmp_path)
    with pytest.raises(UsageError, match=r"^--junit .* is a folder"):
        ReportOptions(junit=tmp_path)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="is not a folder"):
        ReportOptions(html=tmp_path / "file" / "report.html")
    assert ReportOptions(html=tmp_path / "new" / "deeper" / "report.html").html is not None  # created later


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_folder_is_refused_up_front(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(UsageError, match="cannot write in"):
            ReportOptions(html=locked / "report.html")
    finally:
        locked.chmod(0o700)


def test_the_cli_refuses_a_directory_with_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(tmp_path.iterdir())
    with pytest.raises(SystemExit) as exited:
        cli_app.main(["users", "list", "-H", "127.0.0.1:1", "--http", "--auth", "basic", "--html", str(tmp_path)])
    assert exited.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jcfix: error: --html ") and "is a folder" in err
    assert sorted(tmp_path.iterdir()) == before


def test_a_failing_html_report_leaves_no_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = HtmlRecorder(tmp_path / "report.html")

    def broken(*args: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(recorder, "shell", broken)
    with pytest.raises(OSError, match="disk full"):
        _write(recorder)
    assert list(tmp_path.iterdir()) == []


def _raising(exc: Exception) -> click.Command:
    """A command tree like jcfix's (a root ``--debug`` and one subcommand) whose command raises ``exc``."""
    app = typer.Typer()

    @app.callback()
    def root(debug: bool = typer.Option(False, "--debug")) -> None:
        """The root."""

    @app.command()
    def boom() -> None:
        """Raise."""
        raise exc

    return typer.main.get_command(app)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (JumpCloudError("JumpCloud refused the API key (HTTP 401)", status=401, kind="auth"), 3),
        (JumpCloudError("JumpCloud did not answer", kind="unreachable"), 4),
        (UsageError("bad value"), ExitCode.USAGE),
        (RuntimeError("a bug"), ExitCode.INTERNAL),
    ],
)
def test_debug_adds_the_traceback_but_never_changes_the_exit_code(
    exc: Exception, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_app, "build_command", lambda: _raising(exc))
    outcomes = {}
    for args in (["boom"], ["--debug", "boom"]):
        with pytest.raises(SystemExit) as exited:
            cli_app.main(args)
        outcomes[len(args) == 2] = (exited.value.code, capsys.readouterr().err)
    (plain_code, plain_err), (debug_code, debug_err) = outcomes[False], outcomes[True]
    assert plain_code == debug_code == code
    assert "Traceback" not in plain_err and plain_err.count("\n") == 1
    assert "Traceback" in debug_err and str(exc) in debug_err.splitlines()[-1]
    assert sys.exc_info() == (None, None, None)


# ---- undoing --block-reenroll on a lab host ----------------------------------------------------------------------

POLICY_KEY = "HKEY_LOCAL_MACHINE\\" + SYSTEM_POLICY_SUBKEY


def _jcfix_json(*args: str) -> tuple[int, Any]:
    env = environ_without_jcfix()
    env.update(JCFIX_CONFIG="/dev/null", JCFIX_USER=LAB_USERNAME, JCFIX_PASSWORD=LAB_PASSWORD)
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", *args, "-o", "json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("seeded", [None, {"EnableSmartScreen": ("DWord", 1)}])
def test_undoing_block_reenroll_leaves_the_registry_as_it_was(tmp_path: Path, seeded: dict[str, Any] | None) -> None:
    with LabFleet.from_scenario("pin") as fleet:
        inventory = tmp_path / "pin.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        (host,) = fleet.hosts
        if seeded is not None:  # a policy key with another policy in it: it stays, with that policy
            machine_of(host).state.registry.seed(POLICY_KEY, seeded)
        before = readback.fingerprint(host)["registry"]
        assert (readback.registry_key(host, POLICY_KEY) is None) == (seeded is None)
        code, _ = _jcfix_json("fix", "remove-pin", "-i", str(inventory), "--user", "pat", "--block-reenroll",
                              "--run-id", "pin-1")  # fmt: skip
        assert code == ExitCode.CHANGED
        assert (readback.registry_key(host, POLICY_KEY) or {}).get("AllowDomainPINLogon") == 0
        (record,) = [r for r in readback.backups(host, "pin-1").values() if r["kind"] == "policy"]
        assert record["entry"]["key_existed"] is (seeded is not None)
        code, undone = _jcfix_json("undo", "-i", str(inventory), "--run-id", "pin-1")
        assert code == ExitCode.CHANGED, undone
        assert readback.fingerprint(host)["registry"] == before
        assert readback.registry_key(host, POLICY_KEY) == (None if seeded is None else {"EnableSmartScreen": 1})
        # A second undo changes nothing (the run is marked undone) and the key stays as it was.
        _jcfix_json("undo", "-i", str(inventory), "--run-id", "pin-1")
        assert readback.fingerprint(host)["registry"] == before


@pytest.mark.parametrize(
    ("scenario", "action", "user"), [("pin", "remove-pin", "pat"), ("picture", "remove-picture-password", "quinn")]
)
def test_undoing_block_reenroll_removes_every_key_level_it_created(
    tmp_path: Path, scenario: str, action: str, user: str
) -> None:
    with LabFleet.from_scenario(scenario) as fleet:
        inventory = tmp_path / "lab.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        (host,) = fleet.hosts
        registry = machine_of(host).state.registry
        # SOFTWARE\Policies holds no Microsoft key: the fix creates Microsoft, Windows and System.
        registry.drop("HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft")
        registry.seed("HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Other", {"Keep": ("DWord", 1)})  # not jcfix's
        before = _policies(readback.fingerprint(host)["registry"])
        args = ("fix", action, "-i", str(inventory), "--user", user, "--block-reenroll", "--run-id", "b-1")
        code, _ = _jcfix_json(*args)
        assert code == ExitCode.CHANGED
        assert readback.registry_key(host, POLICY_KEY) is not None
        (record,) = [r for r in readback.backups(host, "b-1").values() if r["kind"] == "policy"]
        assert record["entry"]["created_keys"] == [
            "SOFTWARE\\Policies\\Microsoft", "SOFTWARE\\Policies\\Microsoft\\Windows", SYSTEM_POLICY_SUBKEY
        ]
        code, undone = _jcfix_json("undo", "-i", str(inventory), "--run-id", "b-1")
        assert code == ExitCode.CHANGED, undone
        assert registry.peek("HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft") is None
        assert registry.peek("HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Other") is not None
        assert _policies(readback.fingerprint(host)["registry"]) == before


def _policies(registry: dict[str, Any]) -> dict[str, Any]:
    """The policy keys of a registry fingerprint (a restored picture-password key differs in its SDDL)."""
    return {path: key for path, key in registry.items() if "\\SOFTWARE\\Policies" in path}
