"""``jcfix diagnose`` runs the diagnosis rules once per host, reports included (it used to run them twice)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from jc_support import jc_lab

from toolkit import rules
from toolkit.exitcodes import ExitCode


def test_rules_run_once_per_host_with_every_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from toolkit.cli.app import main
    from toolkit.report import view
    from toolkit.services import diagnose as service

    calls: list[str] = []
    real = rules.diagnose

    def counted(host: str, *args: Any, **kwargs: Any) -> Sequence[rules.Finding]:
        calls.append(host)
        return real(host, *args, **kwargs)

    for module in (rules, service, view):
        monkeypatch.setattr(module, "diagnose", counted)
    with jc_lab("jumpcloud", tmp_path) as lab:
        for name, value in lab.env().items():
            monkeypatch.setenv(name, value)
        junit, html = tmp_path / "r.xml", tmp_path / "r.html"
        with pytest.raises(SystemExit) as exited:
            main(["diagnose", *lab.winrm(), "-o", "json", "--junit", str(junit), "--html", str(html)])
        hosts = sorted(h.hostname for h in lab.fleet.hosts)
    assert exited.value.code == ExitCode.BLOCKERS
    assert sorted(calls) == hosts  # once each: the JSON, JUnit, HTML, history and exit code share it
    document = json.loads(capsys.readouterr().out)
    assert sorted(h["host"] for h in document["hosts"]) == hosts
    assert "NO_INITIAL_PASSWORD" in junit.read_text(encoding="utf-8")  # JumpCloud's side reached the reports
