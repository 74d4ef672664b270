"""Helpers for the real-Windows suite: the jcfix CLI against the host, and PowerShell run on it directly.

The suite judges jcfix by two independent readings: what ``jcfix ... -o json`` reports, and what the host
says when asked directly through :class:`HostShell` (pypsrp, the same connection settings, a script of
the test's own). A test that only read jcfix's output back would agree with jcfix by construction.

Environment (filled by ``conftest.py`` from ``JCFIX_TEST_SETUP`` when that names setup-host.ps1's summary):
``JCFIX_TEST_HOST``, ``JCFIX_TEST_USER``, ``JCFIX_TEST_PASSWORD``, ``JCFIX_TEST_ARGS`` (jcfix's connection
flags), ``JCFIX_TEST_KIT`` (the summary file), ``JCFIX_TEST_ALLOW_REBOOT=1`` (tests that restart the host).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from kitfiles import read_summary
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan
from subprocess_env import environ_without_jcfix

from toolkit.actions import get_action
from toolkit.results import RawOutput
from toolkit.transport.winrm import error_record_text

HOST = os.environ.get("JCFIX_TEST_HOST", "")
MARKS = [
    pytest.mark.windows,
    pytest.mark.skipif(
        not HOST, reason="no real Windows host: set JCFIX_TEST_HOST or JCFIX_TEST_SETUP (tests/windows/README.md)"
    ),
]
ALLOW_REBOOT = os.environ.get("JCFIX_TEST_ALLOW_REBOOT", "") == "1"
CLI_TIMEOUT = 300


class HostScriptError(AssertionError):
    """A script the test ran on the host directly failed (its error records, as text)."""


_EMPTY_CONFIG = Path(tempfile.gettempdir()) / "jcfix-test-empty-config.yaml"
_EMPTY_CONFIG.write_text("{}\n", encoding="utf-8")


def jcfix(
    *args: str, user: str | None = None, password: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``jcfix ARGS -H HOST <JCFIX_TEST_ARGS>`` in a subprocess, with the test host's credentials."""
    base = environ_without_jcfix(keep=(), keep_prefix="JCFIX_TEST_")
    base.update(
        JCFIX_USER=user if user is not None else os.environ.get("JCFIX_TEST_USER", ""),
        JCFIX_PASSWORD=password if password is not None else os.environ.get("JCFIX_TEST_PASSWORD", ""),
        JCFIX_CONFIG=str(_EMPTY_CONFIG),  # the admin's own config does not apply (a real file: no /dev/null on Windows)
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="200",
    )
    base.update(env or {})
    extra = shlex.split(os.environ.get("JCFIX_TEST_ARGS", ""), posix=os.name != "nt")
    command = [sys.executable, "-m", "toolkit", *args, "-H", HOST, *extra]
    return subprocess.run(command, capture_output=True, text=True, env=base, timeout=CLI_TIMEOUT)


def documents(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The result documents of the one host of a ``-o json`` run (fix, users list, undo)."""
    assert result.stdout.strip(), f"no JSON on stdout; stderr: {result.stderr[-2000:]}"
    (host,) = json.loads(result.stdout)
    return list(host["results"])


def one_document(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    (document,) = documents(result)
    return document


def fix(name: str, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """``jcfix fix NAME ARGS -o json``: the exit code and the one result document."""
    result = jcfix("fix", name, "-o", "json", *args, env=env)
    return result.returncode, one_document(result)


def undo(run_id: str, *args: str) -> tuple[int, dict[str, Any]]:
    """``jcfix undo --run-id RUN_ID -o json``: the exit code and the one result document."""
    result = jcfix("undo", "--run-id", run_id, "-o", "json", *args)
    return result.returncode, one_document(result)


def diagnose(*jc_users: str) -> dict[str, Any]:
    """``jcfix diagnose -j U... -o json``: the one host's diagnosis (``status`` ok asserted)."""
    args = [a for u in jc_users for a in ("-j", u)]
    result = jcfix("diagnose", "-o", "json", *args)
    assert result.stdout.strip(), result.stderr[-2000:]
    (host,) = json.loads(result.stdout)["hosts"]
    assert host["status"] == "ok", host.get("error")
    return dict(host)


def codes(diagnosis: Mapping[str, Any], subject: str | None = None) -> set[str]:
    """The finding codes of a diagnosis (for one JumpCloud user when ``subject`` is given)."""
    return {f["code"] for f in diagnosis["findings"] if subject is None or f["subject"] == subject}


def finding(diagnosis: Mapping[str, Any], code: str, subject: str | None = None) -> dict[str, Any]:
    """The one finding with ``code`` (and ``subject``); fails listing what there is."""
    found = [f for f in diagnosis["findings"] if f["code"] == code and (subject is None or f["subject"] == subject)]
    assert len(found) == 1, f"{code} for {subject!r}: {[(f['code'], f['subject']) for f in diagnosis['findings']]}"
    return dict(found[0])


def decided(diagnosis: Mapping[str, Any], name: str) -> Any:
    """What Python decided from the raw facts (``decided``, collect_facts v2), else the v1 agent facts."""
    if diagnosis.get("decided") is not None:
        return diagnosis["decided"][name]
    return diagnosis["facts"]["agent"][name]


def fact_user(diagnosis: Mapping[str, Any], sid: str) -> dict[str, Any]:
    """The raw facts of the account with ``sid``."""
    (user,) = [u for u in diagnosis["facts"]["users"] if u["sid"].upper() == sid.upper()]
    return dict(user)


def connection_flags() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--http", dest="scheme", action="store_const", const="http", default="https")
    parser.add_argument("--https", dest="scheme", action="store_const", const="https")
    parser.add_argument("--port", type=int)
    parser.add_argument("--auth", default="negotiate")
    parser.add_argument("--ca-cert")
    parser.add_argument("--no-cert-validation", action="store_true")
    flags, _ = parser.parse_known_args(shlex.split(os.environ.get("JCFIX_TEST_ARGS", ""), posix=os.name != "nt"))
    return flags


class HostShell:
    """PowerShell on the test host, run by the test itself (not by jcfix), over the same WinRM settings.

    ``configuration_name`` picks the endpoint (``Microsoft.PowerShell32`` is the 32-bit one on 64-bit
    Windows). Each :meth:`run` opens its own runspace pool and runs the script in a local scope.
    """

    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        configuration_name: str = "Microsoft.PowerShell",
    ) -> None:
        self.user = user if user is not None else os.environ.get("JCFIX_TEST_USER", "")
        self.password = password if password is not None else os.environ.get("JCFIX_TEST_PASSWORD", "")
        self.configuration_name = configuration_name

    def _wsman(self) -> WSMan:
        flags = connection_flags()
        validation: bool | str = not flags.no_cert_validation
        if validation and flags.ca_cert:
            validation = flags.ca_cert
        return WSMan(
            HOST,
            port=flags.port or (5985 if flags.scheme == "http" else 5986),
            ssl=flags.scheme == "https",
            auth=flags.auth,
            username=self.user,
            password=self.password,
            cert_validation=validation,
            connection_timeout=30,
            read_timeout=90,
            operation_timeout=60,
            no_proxy=True,
        )

    def run(self, script: str, **parameters: Any) -> list[Any]:
        """Run ``script`` with ``parameters``; its output objects, or :class:`HostScriptError`."""
        with self._wsman() as wsman, RunspacePool(wsman, configuration_name=self.configuration_name) as pool:
            shell = PowerShell(pool)
            shell.add_script(script, use_local_scope=True)
            if parameters:
                shell.add_parameters(parameters)
            output = shell.invoke()
            if shell.had_errors or shell.streams.error:
                raise HostScriptError("; ".join(str(e) for e in shell.streams.error) or "the script failed")
            return list(output)

    def run_action(self, action_name: str, values: Mapping[str, Any] | None = None, *, whatif: bool = False) -> Any:
        """Render jcfix's action ``action_name`` and run it on this endpoint; its validated result document.

        For what the CLI cannot choose (the endpoint): the rendered script, its parameters and the parsing are
        jcfix's own, only the runspace pool is this shell's.
        """
        action = get_action(action_name)
        rendered = action.render(dict(values or {}))
        with self._wsman() as wsman, RunspacePool(wsman, configuration_name=self.configuration_name) as pool:
            shell = PowerShell(pool)
            shell.add_script(rendered.script, use_local_scope=True)
            parameters = dict(rendered.parameters)
            if whatif:
                parameters["WhatIf"] = True
            if parameters:
                shell.add_parameters(parameters)
            output = shell.invoke()
            records = [error_record_text(r) for r in shell.streams.error]
            terminating = records.pop() if shell.had_errors and records else None
        return action.parse(RawOutput(output=list(output), error_records=records, terminating_error=terminating))

    def json(self, script: str, **parameters: Any) -> Any:
        """Run a script whose last output is one JSON text (``ConvertTo-Json``) and parse it."""
        output = [o for o in self.run(script, **parameters) if isinstance(o, str)]
        assert output, "the host script printed no JSON"
        return json.loads(output[-1])


def wait_for(what: str, check: Any, *, timeout: float = 600, interval: float = 10) -> Any:
    """Poll ``check()`` until it returns something truthy (that value), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the host may be rebooting: keep polling until the deadline
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last_error})")


def kit_summary() -> dict[str, Any] | None:
    """setup-host.ps1's summary (``JCFIX_TEST_KIT``), or None when the host was not set up by the kit."""
    path = os.environ.get("JCFIX_TEST_KIT", "")
    if not path:
        return None
    return read_summary(path)


def kit_accounts(summary: Mapping[str, Any], case: str) -> list[dict[str, Any]]:
    """The kit's accounts built for ``case`` (see setup-host.ps1 ``$KitAccounts``)."""
    found = [dict(a) for a in summary["accounts"] if a["case"] == case]
    assert found, f"the kit built no account for case {case!r}"
    return found


# Which of the registry keys in -Paths exist (64-bit view: the shell runs in the 64-bit endpoint), as JSON.
REGISTRY_KEYS_SCRIPT = """
param([string[]] $Paths)
$found = [ordered]@{}
foreach ($path in $Paths) { $found[$path] = [bool](Test-Path -LiteralPath $path) }
ConvertTo-Json -InputObject $found -Compress
"""
