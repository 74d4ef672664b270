"""Host reports built without a network, for the report unit tests: every status a host can end with."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from toolkit.actions import get_action
from toolkit.facts import HostFacts
from toolkit.lab.engine import run_script
from toolkit.lab.scenarios import load_hosts
from toolkit.recorder import HOST_STATUSES, RunMeta, RunRecorder, RunSummary
from toolkit.results import ResultDocument, failed, validate_document
from toolkit.runner import HostReport, Step
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget

STARTED = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def facts_step() -> Step:
    # Not rendered: reports read a step's names and mode, never its script (and the template is tested elsewhere).
    action = get_action("collect_facts")
    return Step(action, RenderedScript(action.name, action.version, "# not rendered"))


def facts_result(scenario: str) -> tuple[list[str], ResultDocument[Any]]:
    """The collect_facts document a lab host of ``scenario`` answers, and its expected JumpCloud users."""
    (host,) = load_hosts(scenario)
    run = run_script(host, get_action("collect_facts").render({}).script)
    assert run.terminating is None and len(run.output) == 1, run
    document = json.loads(run.output[0])
    return list(host.jc_users), validate_document("collect_facts", document, HostFacts)


def sample_reports() -> list[HostReport]:
    """Six hosts: ready, blocked (case mismatch), unreachable, script failed, skipped step, never started."""
    step = facts_step()
    reports = []
    for name, scenario in (("pc-ready", "healthy"), ("pc-case", "case")):
        users, result = facts_result(scenario)
        reports.append(HostReport(HostTarget(name, vars={"jc_users": users}), [(step, result)]))
    reports.append(
        HostReport(HostTarget("pc-down"), [(step, failed("collect_facts", "unreachable", "connection refused"))])
    )
    reports.append(
        HostReport(
            HostTarget("pc-broken"), [(step, failed("collect_facts", "script_failed", "Access <denied> & \x07"))]
        )
    )
    skipped = ResultDocument[Any](schema=1, action="collect_facts", status="skipped", changed=False)
    reports.append(HostReport(HostTarget("pc-when"), [(step, skipped)]))
    reports.append(HostReport(HostTarget("pc-later"), skipped_reason="max-fail-percent 10% reached"))
    return reports


def record(recorder: RunRecorder, reports: list[HostReport], run_id: str = "r-sample") -> None:
    """Feed ``reports`` to ``recorder`` as a run would: start, each host, finish."""
    recorder.start(
        RunMeta(
            run_id=run_id,
            command="jcfix diagnose -i fleet.yaml",
            playbook=None,
            user="tester",
            started=STARTED,
            check_mode=False,
            hosts=len(reports),
        )
    )
    counts = dict.fromkeys(HOST_STATUSES, 0)
    for report in reports:
        recorder.host_done(report)
        counts[report.status] += 1
    recorder.finish(RunSummary(counts=counts, interrupted=False, ended=STARTED + timedelta(seconds=3), exit_code=4))


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is not installed and could not be (.ci/run runs: apt-get install -y chromium)")
    return found


def rendered_dom(page: Path, fragment: str, profile: Path) -> str:
    """The DOM after the page's scripts ran, for ``page#fragment`` (no network: a file:// URL)."""
    url = page.resolve().as_uri() + "#" + fragment
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout
